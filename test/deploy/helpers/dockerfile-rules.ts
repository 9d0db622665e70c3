import { posix } from 'node:path';
import {
  Add,
  Arg,
  Cmd,
  Copy,
  DockerfileParser,
  Entrypoint,
  Env,
  From,
  Healthcheck,
  Run,
  User,
  Workdir,
  type Dockerfile,
  type Instruction,
} from 'dockerfile-ast';

/**
 * Rules for deploy/docker/Dockerfile, each a function from a parsed Dockerfile (and what it
 * must agree with) to the problems it finds, `[]` when it holds. test/deploy/dockerfile.test.ts
 * runs each on the real Dockerfile and on a broken one that must make it fire.
 */

/** One build stage: its FROM and the instructions up to the next FROM. */
export interface Stage {
  readonly index: number;
  /** The `AS name`, if any. */
  readonly name: string | undefined;
  readonly from: From;
  /** The working directory the stage starts in: its parent stage's last one, or `/`. */
  readonly baseWorkdir: string;
  readonly instructions: readonly Instruction[];
}

export function parseDockerfile(text: string): Dockerfile {
  return DockerfileParser.parse(text);
}

export function stagesOf(dockerfile: Dockerfile): readonly Stage[] {
  const stages: Stage[] = [];
  let current: Instruction[] | undefined;
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction instanceof From) {
      const image = instruction.getImage() ?? '';
      const parent = stageNamed(stages, image, stages.length);
      current = [];
      stages.push({
        index: stages.length,
        name: instruction.getBuildStage() ?? undefined,
        from: instruction,
        baseWorkdir: parent === undefined ? '/' : workdirAt(parent),
        instructions: current,
      });
    } else {
      current?.push(instruction);
    }
  }
  return stages;
}

/** The working directory at the end of `stage`: where its build left its outputs. */
export function stageWorkdir(stage: Stage): string {
  return workdirAt(stage);
}

function finalStage(dockerfile: Dockerfile): Stage | undefined {
  return stagesOf(dockerfile).at(-1);
}

/** The stage a `--from` or FROM names, by name or index, among the stages before `before`. */
function stageNamed(stages: readonly Stage[], ref: string, before: number): Stage | undefined {
  return stages
    .slice(0, before)
    .find((s) => s.name?.toLowerCase() === ref.toLowerCase() || String(s.index) === ref);
}

/** The stages whose filesystem `stage` starts from (FROM an earlier stage), nearest first. */
function lineage(stages: readonly Stage[], stage: Stage): readonly Stage[] {
  const chain: Stage[] = [stage];
  let current = stage;
  for (;;) {
    const image = current.from.getImage();
    const parent = image === null ? undefined : stageNamed(stages, image, current.index);
    if (parent === undefined) return chain;
    chain.push(parent);
    current = parent;
  }
}

/**
 * The working directory in effect at `instruction` in `stage`, or at the stage's end without
 * one (`/` when no WORKDIR set it).
 */
function workdirAt(stage: Stage, instruction?: Instruction): string {
  let dir = stage.baseWorkdir;
  for (const i of stage.instructions) {
    if (i === instruction) break;
    if (i instanceof Workdir) {
      const arg = i.getArguments()[0]?.getValue() ?? '/';
      dir = posix.resolve(dir, arg);
    }
  }
  return dir;
}

function flagValue(instruction: Copy | Healthcheck | From, name: string): string | undefined {
  return (
    instruction
      .getFlags()
      .find((f) => f.getName() === name)
      ?.getValue() ?? undefined
  );
}

/** Sources and destination of a COPY/ADD (flags left out). */
function copyParts(copy: Copy | Add): { sources: readonly string[]; destination: string } {
  const json = copy.getJSONStrings();
  const args =
    copy.getOpeningBracket() !== null && json.length > 0
      ? json.map((j) => j.getJSONValue())
      : copy.getArguments().map((a) => a.getValue());
  return { sources: args.slice(0, -1), destination: args.at(-1) ?? '' };
}

/** The command of an exec-form (JSON array) CMD/ENTRYPOINT, or undefined for shell form. */
export function execFormOf(instruction: Cmd | Entrypoint): readonly string[] | undefined {
  if (instruction.getOpeningBracket() === null || instruction.getClosingBracket() === null) {
    return undefined;
  }
  try {
    const parsed = JSON.parse(instruction.getArgumentsContent() ?? '') as unknown;
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The command of `HEALTHCHECK … CMD [json]`, or undefined for shell form or NONE. */
export function healthcheckCommandOf(healthcheck: Healthcheck): readonly string[] | undefined {
  if (healthcheck.getSubcommand()?.getValue().toUpperCase() !== 'CMD') return undefined;
  const text = (healthcheck.getArgumentsContent() ?? '').replace(/^\s*CMD\s*/i, '');
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The last instruction of `type` in the final stage. */
function lastOf<T extends Instruction>(
  dockerfile: Dockerfile,
  type: abstract new (...args: never[]) => T,
): T | undefined {
  return finalStage(dockerfile)
    ?.instructions.filter((i): i is T => i instanceof type)
    .at(-1);
}

/** `ENV` values set in the final stage (later ones win), with the base image's unknown. */
export function finalStageEnv(dockerfile: Dockerfile): ReadonlyMap<string, string> {
  const env = new Map<string, string>();
  for (const i of finalStage(dockerfile)?.instructions ?? []) {
    if (!(i instanceof Env)) continue;
    for (const p of i.getProperties()) env.set(p.getName(), p.getUnescapedValue() ?? '');
  }
  return env;
}

// ---- the rules -----------------------------------------------------------------------------

/** A build stage and a runtime stage, so the compiler and dev tools stay out of the image. */
export function multiStage(dockerfile: Dockerfile): string[] {
  const count = stagesOf(dockerfile).length;
  return count >= 2 ? [] : [`multi-stage: ${count} FROM, need at least 2`];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
// An exact release: x.y.z, optionally with a variant (`22.23.0-bookworm-slim`).
const EXACT_TAG = /^v?\d+\.\d+\.\d+(?:[-_][A-Za-z0-9._-]+)?$/;

/** Every FROM of an outside image names an exact version (x.y.z tag) or a digest, never `latest`. */
export function pinnedBaseImages(dockerfile: Dockerfile): string[] {
  const stages = stagesOf(dockerfile);
  const problems: string[] = [];
  for (const stage of stages) {
    const image = stage.from.getImage() ?? '';
    if (stageNamed(stages, image, stage.index) !== undefined) continue;
    if (image.includes('$')) {
      problems.push(`FROM ${image}: a variable hides which image is used`);
      continue;
    }
    const digest = stage.from.getImageDigest();
    const tag = stage.from.getImageTag();
    if (digest !== null && DIGEST.test(digest)) continue;
    if (tag === null) problems.push(`FROM ${image}: no tag (means latest)`);
    else if (!EXACT_TAG.test(tag))
      problems.push(`FROM ${image}: tag ${tag} is not an x.y.z version`);
  }
  return problems;
}

function isRootUser(user: string): boolean {
  const name = user.split(':')[0] ?? '';
  return name === '' || name === 'root' || /^0+$/.test(name);
}

/**
 * The final stage drops root for good: its last USER is a non-root numeric uid (Kubernetes'
 * `runAsNonRoot` can verify only a number), after the last RUN (the setup that needs root).
 */
export function nonRootFinalStage(dockerfile: Dockerfile): string[] {
  const stage = finalStage(dockerfile);
  if (stage === undefined) return ['no stage'];
  const users = stage.instructions.filter((i) => i instanceof User);
  const last = users.at(-1);
  if (last === undefined) return ['final stage has no USER: it runs as root'];
  const user = last.getArgumentsContent()?.trim() ?? '';
  const problems: string[] = [];
  if (isRootUser(user)) problems.push(`final stage runs as root (USER ${user})`);
  else if (!/^\d+(:\d+)?$/.test(user)) {
    problems.push(`USER ${user}: not numeric, so runAsNonRoot cannot verify it`);
  }
  const lastRun = stage.instructions.filter((i) => i instanceof Run).at(-1);
  if (
    lastRun !== undefined &&
    stage.instructions.indexOf(lastRun) > stage.instructions.indexOf(last)
  ) {
    problems.push(`RUN after the last USER (line ${lastRun.getRange().start.line + 1})`);
  }
  return problems;
}

/** CMD and ENTRYPOINT of the final stage exist in exec (JSON) form, so no shell sits in between. */
export function execFormCommands(dockerfile: Dockerfile): string[] {
  const problems: string[] = [];
  const cmd = lastOf(dockerfile, Cmd);
  const entrypoint = lastOf(dockerfile, Entrypoint);
  if (cmd === undefined) problems.push('final stage has no CMD');
  else if (execFormOf(cmd) === undefined)
    problems.push(`CMD ${cmd.getArgumentsContent() ?? ''}: shell form`);
  if (entrypoint === undefined) problems.push('final stage has no ENTRYPOINT');
  else if (execFormOf(entrypoint) === undefined) {
    problems.push(`ENTRYPOINT ${entrypoint.getArgumentsContent() ?? ''}: shell form`);
  }
  return problems;
}

const INITS = ['tini', 'tini-static', 'dumb-init'];

/**
 * An init (tini, dumb-init) is the ENTRYPOINT and is installed by the final stage itself (a
 * RUN that names it, or a COPY to it): `docker run --init` is not something an image can ask for,
 * and ECS and Kubernetes do not add one.
 */
export function initEntrypoint(dockerfile: Dockerfile): string[] {
  const entrypoint = lastOf(dockerfile, Entrypoint);
  const command = entrypoint === undefined ? undefined : execFormOf(entrypoint);
  const binary = command?.[0];
  if (binary === undefined || !INITS.includes(posix.basename(binary))) {
    return [`ENTRYPOINT is not an init (${INITS.join(', ')}): signals would not reach Node`];
  }
  const name = posix.basename(binary);
  const stage = finalStage(dockerfile);
  const installed = stage?.instructions.some(
    (i) =>
      (i instanceof Run && new RegExp(`\\b${name}\\b`).test(i.getArgumentsContent() ?? '')) ||
      (i instanceof Copy && copyParts(i).destination.endsWith(name)),
  );
  return installed === true ? [] : [`${binary}: the final stage does not install ${name}`];
}

const SECRET_LOOKING = /SECRET|TOKEN|PASSWORD|KEY/i;

/**
 * No ARG or ENV (any stage) carries a secret: ARG values stay in the image history and ENV in its
 * config. Names that look secret are refused unless listed as safe; the gateway's secret settings
 * are refused whatever the list says.
 */
export function noSecretsInArgOrEnv(
  dockerfile: Dockerfile,
  names: { readonly safe: readonly string[]; readonly secrets: readonly string[] },
): string[] {
  const problems: string[] = [];
  for (const i of dockerfile.getInstructions()) {
    if (!(i instanceof Arg) && !(i instanceof Env)) continue;
    for (const p of i.getProperties()) {
      const name = p.getName();
      const line = i.getRange().start.line + 1;
      if (names.secrets.includes(name)) {
        problems.push(
          `${i.getKeyword()} ${name} (line ${line}): a secret setting, give it at run time`,
        );
      } else if (SECRET_LOOKING.test(name) && !names.safe.includes(name)) {
        problems.push(`${i.getKeyword()} ${name} (line ${line}): looks like a secret`);
      }
    }
  }
  return problems;
}

/** No ADD of a URL or git repository: an unpinned download the build cannot verify. */
export function noRemoteAdd(dockerfile: Dockerfile): string[] {
  return dockerfile
    .getInstructions()
    .filter((i): i is Add => i instanceof Add)
    .flatMap((add) =>
      copyParts(add).sources.filter((s) => /^[a-z][a-z0-9+.-]*:\/\/|^git@/i.test(s)),
    )
    .map((source) => `ADD ${source}: remote source`);
}

const NPM_INSTALL = /\bnpm\s+(ci|install|i)\b[^&;|]*/g;
const OMITS_DEV = /--omit[= ]dev\b|--production\b|--only[= ]prod/;

/**
 * The final stage's node_modules come from a stage that installed production dependencies only:
 * every `npm ci`/`npm install` there omits dev dependencies, or a later `npm prune --omit=dev`
 * removes them. A COPY of a whole stage directory counts as copying its node_modules.
 */
export function productionDependenciesOnly(dockerfile: Dockerfile): string[] {
  const stages = stagesOf(dockerfile);
  const last = stages.at(-1);
  if (last === undefined) return ['no stage'];
  const problems: string[] = [];
  for (const copy of last.instructions.filter((i): i is Copy => i instanceof Copy)) {
    const ref = flagValue(copy, 'from');
    if (ref === undefined) continue;
    const source = stageNamed(stages, ref, last.index);
    if (source === undefined) continue;
    const carriesModules = copyParts(copy).sources.some(
      (s) =>
        s.split('/').includes('node_modules') ||
        // A stage's working directory or root holds its node_modules.
        posix.resolve(workdirAt(source), s) === workdirAt(source) ||
        posix.resolve('/', s) === '/',
    );
    if (!carriesModules) continue;
    const runs = [...lineage(stages, source)]
      .reverse()
      .flatMap((s) => s.instructions.filter((i): i is Run => i instanceof Run))
      .map((r) => r.getArgumentsContent() ?? '');
    const installs = runs.flatMap((r) => [...r.matchAll(NPM_INSTALL)].map((m) => m[0]));
    const pruned = runs.some((r) => /\bnpm\s+prune\b[^&;|]*(--omit[= ]dev|--production)/.test(r));
    const withDev = installs.filter((cmd) => !OMITS_DEV.test(cmd));
    if (withDev.length > 0 && !pruned) {
      problems.push(
        `COPY --from=${ref} ${copyParts(copy).sources.join(' ')}: stage ${ref} installed dev dependencies (${withDev[0]?.trim() ?? ''})`,
      );
    }
  }
  return problems;
}

/** A HEALTHCHECK in exec form (it needs no shell in the image) with a --timeout. */
export function healthcheckExecWithTimeout(dockerfile: Dockerfile): string[] {
  const healthcheck = lastOf(dockerfile, Healthcheck);
  if (healthcheck === undefined) return ['final stage has no HEALTHCHECK'];
  const problems: string[] = [];
  if (healthcheckCommandOf(healthcheck) === undefined) {
    problems.push(`HEALTHCHECK ${healthcheck.getArgumentsContent() ?? ''}: not CMD in exec form`);
  }
  if (flagValue(healthcheck, 'timeout') === undefined)
    problems.push('HEALTHCHECK has no --timeout');
  return problems;
}

/**
 * EXPOSE lists exactly the ports the final stage's ENV gives the listen settings (`PORT`,
 * `WARMROUTE_ADMIN_PORT`): a port exposed but not listened on, or the reverse, is refused.
 */
export function exposeMatchesListenPorts(
  dockerfile: Dockerfile,
  portSettings: readonly string[],
): string[] {
  const env = finalStageEnv(dockerfile);
  const listened = portSettings.map((name) => env.get(name));
  if (listened.some((p) => p === undefined)) {
    return [`final stage ENV does not set ${portSettings.filter((n) => !env.has(n)).join(', ')}`];
  }
  const exposed = (finalStage(dockerfile)?.instructions ?? [])
    .filter((i) => i.getKeyword() === 'EXPOSE')
    .flatMap((i) => i.getArguments().map((a) => a.getValue().replace(/\/tcp$/i, '')));
  const want = [...new Set(listened as string[])].sort();
  const got = [...new Set(exposed)].sort();
  return want.join(' ') === got.join(' ')
    ? []
    : [`EXPOSE ${got.join(' ')} but the listen settings use ${want.join(' ')}`];
}

/** What a COPY source from the build context needs from the repository. */
export interface BuildContext {
  /** Files a fresh clone has (git ls-files), slash paths relative to the root. */
  readonly files: readonly string[];
  /** Whether .dockerignore leaves a path out of the context. */
  readonly excluded: (path: string) => boolean;
}

/** Tracked files a COPY source names: the file itself, or every file under the directory. */
function filesOf(context: BuildContext, source: string): readonly string[] {
  const path = posix.normalize(source).replace(/^(\.\/)+|\/$/g, '');
  if (/[*?[]/.test(path)) {
    const re = new RegExp(
      `^${path
        .replace(/[.+^${}()|\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')}$`,
    );
    return context.files.filter((f) => re.test(f));
  }
  if (path === '.' || path === '') return context.files;
  return context.files.filter((f) => f === path || f.startsWith(`${path}/`));
}

/**
 * Every COPY/ADD source from the build context (any stage) exists in a fresh clone and reaches
 * the context: neither it nor any file under it is left out by .dockerignore (a directory
 * copied with files missing builds, then fails at run time).
 */
export function copySourcesInContext(dockerfile: Dockerfile, context: BuildContext): string[] {
  const problems: string[] = [];
  for (const i of dockerfile.getInstructions()) {
    if (!(i instanceof Copy) && !(i instanceof Add)) continue;
    if (i instanceof Copy && flagValue(i, 'from') !== undefined) continue;
    for (const source of copyParts(i).sources) {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) continue;
      const files = filesOf(context, source);
      if (files.length === 0) {
        problems.push(`${i.getKeyword()} ${source}: not in the repository`);
        continue;
      }
      const left = files.filter((f) => context.excluded(f));
      if (left.length > 0) {
        problems.push(
          `${i.getKeyword()} ${source}: .dockerignore leaves out ${left.slice(0, 3).join(', ')}${left.length > 3 ? ', …' : ''}`,
        );
      }
    }
  }
  return problems;
}

/** Every COPY --from names an earlier stage of this file, not an outside image or a later stage. */
export function copyFromEarlierStages(dockerfile: Dockerfile): string[] {
  const stages = stagesOf(dockerfile);
  return stages.flatMap((stage) =>
    stage.instructions
      .filter((i): i is Copy => i instanceof Copy)
      .map((copy) => flagValue(copy, 'from'))
      .filter(
        (ref): ref is string =>
          ref !== undefined && stageNamed(stages, ref, stage.index) === undefined,
      )
      .map((ref) => `COPY --from=${ref}: not an earlier stage`),
  );
}

/** Where a COPY puts one source, and from where (a stage's path, or the context's). */
export interface CopiedPath {
  /** Absolute path in the final image. */
  readonly destination: string;
  /** The stage it comes from, or undefined for the build context. */
  readonly stage: Stage | undefined;
  /** Path in that stage (absolute) or in the context (relative). */
  readonly source: string;
}

/**
 * What the final stage's COPY instructions put where. `isDirectory` tells whether a source is a
 * directory (its contents go to the destination) or a file (it goes into a destination ending in
 * `/`, under its own name), as COPY does.
 */
export function finalStageCopies(
  dockerfile: Dockerfile,
  isDirectory: (stage: Stage | undefined, source: string) => boolean,
): readonly CopiedPath[] {
  const stages = stagesOf(dockerfile);
  const last = stages.at(-1);
  if (last === undefined) return [];
  return last.instructions
    .filter((i): i is Copy => i instanceof Copy)
    .flatMap((copy) => {
      const ref = flagValue(copy, 'from');
      const stage = ref === undefined ? undefined : stageNamed(stages, ref, last.index);
      const { sources, destination } = copyParts(copy);
      const dest = posix.resolve(workdirAt(last, copy), destination);
      const intoDirectory = destination.endsWith('/') || destination === '.' || sources.length > 1;
      return sources.map((s) => {
        const source =
          stage === undefined ? posix.normalize(s) : posix.resolve(workdirAt(stage), s);
        return {
          destination:
            intoDirectory && !isDirectory(stage, source)
              ? posix.join(dest, posix.basename(source))
              : dest,
          stage,
          source,
        };
      });
    });
}

/**
 * The image's runtime files are what package.json "files" publishes: every entry is copied to
 * the same path under the final WORKDIR, nothing else is copied but package.json and
 * node_modules, and each exclusion (`!dist/**\/*.map`) is deleted by a `find … -name … -delete`
 * in the stage that built the files it would match.
 */
export function publishedFilesMirrored(
  dockerfile: Dockerfile,
  files: readonly string[],
  isDirectory: (stage: Stage | undefined, source: string) => boolean,
): string[] {
  const last = finalStage(dockerfile);
  if (last === undefined) return ['no stage'];
  const workdir = workdirAt(last);
  const copies = finalStageCopies(dockerfile, isDirectory);
  const copied = new Map(copies.map((c) => [posix.relative(workdir, c.destination), c]));
  const problems: string[] = [];
  const entries = files.filter((f) => !f.startsWith('!')).map((f) => posix.normalize(f));
  for (const entry of entries) {
    if (!copied.has(entry))
      problems.push(`"files" entry ${entry}: not copied to ${posix.join(workdir, entry)}`);
  }
  for (const [path] of copied) {
    if (!entries.includes(path) && path !== 'package.json' && path !== 'node_modules') {
      problems.push(`${posix.join(workdir, path)}: copied but not in package.json "files"`);
    }
  }
  if (!copied.has('package.json'))
    problems.push('package.json: not copied (the package root and "type")');
  for (const exclusion of files.filter((f) => f.startsWith('!'))) {
    const pattern = exclusion.slice(1);
    const top = pattern.split('/')[0] ?? '';
    const glob = posix.basename(pattern);
    const builders = copies.filter(
      (c) => c.stage !== undefined && posix.relative(workdir, c.destination).startsWith(`${top}/`),
    );
    for (const builder of builders) {
      const runs = builder.stage?.instructions.filter((i): i is Run => i instanceof Run) ?? [];
      const deletes = runs.some((r) => {
        const text = r.getArgumentsContent() ?? '';
        return new RegExp(
          `\\bfind\\b[^&;|]*-name\\s+['"]?${glob.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]?[^&;|]*-delete`,
        ).test(text);
      });
      if (!deletes) {
        problems.push(
          `"files" exclusion ${exclusion}: stage ${builder.stage?.name ?? '?'} does not delete ${glob} before ${builder.source} is copied`,
        );
      }
    }
  }
  return problems;
}

/**
 * What the official node images install beside Node (docker-library/official `node` Dockerfile):
 * npm and corepack under /usr/local/lib/node_modules with their commands in /usr/local/bin, and
 * yarn classic under /opt/yarn-v* linked from /usr/local/bin.
 */
const NODE_IMAGE_PACKAGE_MANAGERS = [
  '/usr/local/lib/node_modules/npm',
  '/usr/local/lib/node_modules/corepack',
  '/usr/local/bin/npm',
  '/usr/local/bin/npx',
  '/usr/local/bin/corepack',
  '/usr/local/bin/yarn',
  '/usr/local/bin/yarnpkg',
  '/opt/yarn-v*',
];

/**
 * A final stage built on a `node` image deletes the package managers that image ships (nothing
 * runs them at run time; they only add packages to scan and to abuse): a RUN of the final stage
 * must `rm` each path above. Stages FROM an earlier stage are followed to their outside image.
 */
export function noPackageManagersInRuntime(dockerfile: Dockerfile): string[] {
  const stages = stagesOf(dockerfile);
  const final = stages.at(-1);
  if (final === undefined) return ['no stage'];
  let origin: Stage = final;
  for (;;) {
    const parent = stageNamed(stages, origin.from.getImage() ?? '', origin.index);
    if (parent === undefined) break;
    origin = parent;
  }
  if (origin.from.getImageName() !== 'node') return [];
  const removed = final.instructions
    .filter((i): i is Run => i instanceof Run)
    .map((i) => i.getArgumentsContent() ?? '')
    .filter((text) => /\brm\b/.test(text))
    .flatMap((text) => text.split(/\s+/));
  return NODE_IMAGE_PACKAGE_MANAGERS.filter((path) => !removed.includes(path)).map(
    (path) => `${path}: the final stage (on a node image) does not remove it`,
  );
}
