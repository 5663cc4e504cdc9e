/**
 * The core Kubernetes API objects (L1s) that cdk8s-plus-28 generates. Taken from their own module
 * rather than the package index, which also loads every cdk8s-plus L2 construct: about 60 ms of
 * each synth that nothing here uses.
 */
export * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
