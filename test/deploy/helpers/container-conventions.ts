import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../src/paths.js';
import { finalStageEnv, parseDockerfile } from './dockerfile-rules.js';

/**
 * The environment every container of the gateway image starts with: the ENV of
 * deploy/docker/Dockerfile's final stage. It is the single written place of the container
 * conventions every deploy/ artifact shares (listen on HOST / PORT, the admin listener on
 * WARMROUTE_ADMIN_HOST / WARMROUTE_ADMIN_PORT, production, the AWS backend), so the compose and
 * Kubernetes tests compare with it instead of restating 0.0.0.0 or 9090, and a container's real
 * environment is this overlaid with what its orchestrator sets.
 */
export function imageEnv(): Readonly<Record<string, string>> {
  const dockerfile = parseDockerfile(
    readFileSync(join(packageRoot, 'deploy', 'docker', 'Dockerfile'), 'utf8'),
  );
  return Object.fromEntries(finalStageEnv(dockerfile));
}
