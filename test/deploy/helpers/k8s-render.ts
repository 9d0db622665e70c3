import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A rendered Kubernetes object: what `kubectl kustomize` printed, one YAML document. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/**
 * How to get kubectl. Debian 12's `kubernetes-client` is 1.20, whose kustomize (v2.0.3) knows
 * neither `patches:` nor `envs:`; the manifests need kustomize v5 (kubectl >= 1.27).
 */
export const KUBECTL_INSTALL_HINT =
  'install kubectl >= 1.27 (kustomize v5): from the Kubernetes apt repository ' +
  '(https://pkgs.k8s.io/core:/stable:/v1.32/deb/, package `kubectl`) or the Google Cloud SDK ' +
  'repository (package `kubectl`); Debian 12’s `kubernetes-client` (1.20) is too old';

/** The oldest kustomize that renders deploy/k8s (`patches` with targets, generator `envs`). */
const MIN_KUSTOMIZE_MAJOR = 5;

function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'kubectl',
      args,
      { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
          reject(new Error(`kubectl is not installed: ${KUBECTL_INSTALL_HINT}`, { cause: err }));
          return;
        }
        const exit = (err as { code?: unknown } | null)?.code;
        resolve({ code: err === null ? 0 : typeof exit === 'number' ? exit : -1, stdout, stderr });
      },
    );
  });
}

/** Fails (never skips) when kubectl is missing or its kustomize is older than v5. */
async function assertKubectl(): Promise<void> {
  const { code, stdout, stderr } = await run(['version', '--client', '-o', 'json']);
  if (code !== 0) throw new Error(`kubectl version failed: ${stderr}\n${KUBECTL_INSTALL_HINT}`);
  const { kustomizeVersion } = JSON.parse(stdout) as { kustomizeVersion?: string };
  const major = Number(/^v?(\d+)\./.exec(kustomizeVersion ?? '')?.[1] ?? 0);
  if (major < MIN_KUSTOMIZE_MAJOR)
    throw new Error(
      `kubectl's kustomize is ${kustomizeVersion ?? 'absent'}, need v${MIN_KUSTOMIZE_MAJOR}+: ${KUBECTL_INSTALL_HINT}`,
    );
}

/** `kubectl kustomize <dir>`: exit code, the parsed objects on success, stderr otherwise. */
export async function kustomize(
  dir: string,
): Promise<{ code: number; objects: K8sObject[]; stderr: string }> {
  await assertKubectl();
  const { code, stdout, stderr } = await run(['kustomize', dir]);
  if (code !== 0) return { code, objects: [], stderr };
  const objects = parseAllDocuments(stdout).map((doc) => {
    if (doc.errors.length > 0)
      throw new Error(`kustomize printed bad YAML: ${doc.errors[0]?.message}`);
    return doc.toJS() as K8sObject;
  });
  return { code, objects, stderr };
}

/**
 * A copy of deploy/k8s in a temporary folder, so a test can add the git-ignored
 * `secrets.env` (as a user does: copying the example) without touching the checkout, and
 * render the overlay without whatever secrets.env a developer has locally.
 */
export async function copyK8sTree(
  root: string,
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'warmroute-k8s-'));
  await cp(join(root, 'deploy', 'k8s'), join(dir, 'k8s'), {
    recursive: true,
    // A developer's real secrets never leave the checkout, not even into /tmp.
    filter: (source) => !source.endsWith('/secrets.env'),
  });
  return { dir: join(dir, 'k8s'), remove: () => rm(dir, { recursive: true, force: true }) };
}
