// `cdk8s synth` (see cdk8s.yaml) writes dist/shop.k8s.yaml.
import { buildApp } from './app';

buildApp((process.env.STACK_ENV as 'kind' | 'k3d' | 'prod' | undefined) ?? 'kind').synth();
