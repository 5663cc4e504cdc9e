/**
 * The laptop workflow (`stackport up`, `status`, `logs`, `run`, `psql`, `open`, `backup`, `down`,
 * `dev`, `doctor`). Bundled apart from the rest (lib/ops.cjs): synth and import never load the
 * Kubernetes client.
 */
export { OpsError } from './exec';
