import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildSync, formatMessagesSync } from 'esbuild';
import { findPackageRoot } from '../../../lambda/package-root.js';
import { scriptFolder } from '../../../src/redis/script-loader.js';

/**
 * Bundling of warmroute's Lambda functions, shared by the CDK constructs and
 * the bundle test (test/deploy/function-bundle.test.ts), so the test runs the
 * very bundle a deploy uploads.
 *
 * Why our own esbuild step (`Code.fromAsset` + local bundling) rather than
 * `aws-lambda-nodejs`' `NodejsFunction`: the Redis snapshot store reads its
 * Lua script from disk at run time (src/redis/script-loader.ts), found from
 * the nearest package.json named "warmroute" above the running module
 * (lambda/package-root.ts). A bundle therefore has to carry that marker and
 * `lambda/stores/lua/` beside its entry file. NodejsFunction can only add
 * files through shell command hooks (`cp` run by bash); here it is three calls
 * in the same process, with the paths taken from the loader itself, and
 * esbuild (a dev dependency) runs in-process: no Docker, no shell.
 */

/** The Lambda runtime of every function, and the esbuild target that matches it. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;
const ESBUILD_TARGET = 'node22';

/** The warmroute package root (this repository), found as the Lua loader finds it. */
export const PACKAGE_ROOT = findPackageRoot(import.meta.url);

/**
 * The bundle is ESM (the examples are `.mjs`, and `import.meta.url` must stay
 * the bundle's own URL for the package-root lookup). ioredis and its
 * dependencies are CommonJS and `require()` Node's built-ins; esbuild's ESM
 * output has no `require`, so the bundle gets one from `createRequire`.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __warmrouteCreateRequire } from 'node:module';\n" +
  'const require = __warmrouteCreateRequire(import.meta.url);';

/** How the examples import the function library (lambda/examples/<name>/index.mjs). */
const LIBRARY_IMPORT = 'warmroute/lambda';

export interface BundleFunctionOptions {
  /** The handler's source file (`.mjs`, `.js` or `.ts`). */
  readonly entry: string;
  /** Empty folder to write the bundle into (CDK's asset output folder). */
  readonly outDir: string;
  /** File name of the bundled module in outDir, e.g. `index.mjs` (Lambda's handler is `index.<export>`). */
  readonly outFile: string;
  /**
   * Copy what `warmroute/lambda` reads from disk at run time (the package
   * marker and the snapshot store's Lua scripts). Needed by any function that
   * imports `warmroute/lambda`; harmless otherwise.
   */
  readonly withWarmrouteAssets: boolean;
}

/**
 * Bundles one function into `outDir`: `<outFile>` (every dependency inlined,
 * ioredis included), plus, with `withWarmrouteAssets`, `package.json` (named
 * as warmroute's, so the Lua loader takes the bundle folder for the package
 * root) and `lambda/stores/lua/*.lua` at the same relative path as in the
 * package. Throws on any esbuild error or warning: a warning here (an
 * unresolvable `require`, a missing export) is a function that fails at run
 * time.
 */
export function bundleFunction(options: BundleFunctionOptions): void {
  const { entry, outDir, outFile, withWarmrouteAssets } = options;
  mkdirSync(outDir, { recursive: true });
  const result = buildSync({
    absWorkingDir: PACKAGE_ROOT,
    entryPoints: [entry],
    outfile: join(outDir, outFile),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ESBUILD_TARGET,
    banner: { js: ESM_REQUIRE_BANNER },
    // `warmroute/lambda` from this checkout's TypeScript sources rather than
    // through the package's `exports` (dist/lambda, written by `npm run
    // build`): the CDK app compiles only deploy/cdk, so a dist/ older than the
    // sources would otherwise be deployed without a word.
    alias: { [LIBRARY_IMPORT]: join(PACKAGE_ROOT, 'lambda', 'index.ts') },
    // Readable stack traces in CloudWatch matter more than ~200 KB of code.
    minify: false,
    logLevel: 'silent',
  });
  if (result.warnings.length > 0) {
    const text = formatMessagesSync(result.warnings, { kind: 'warning' }).join('\n');
    throw new Error(`warmroute: esbuild warnings while bundling ${entry}:\n${text}`);
  }
  if (!withWarmrouteAssets) return;
  const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  writeFileSync(
    join(outDir, 'package.json'),
    `${JSON.stringify(
      {
        name: manifest.name,
        version: manifest.version,
        private: true,
        description: 'Bundled Lambda function: this name marks the folder the Lua scripts live in',
      },
      null,
      2,
    )}\n`,
  );
  const lua = scriptFolder('snapshot');
  cpSync(lua, join(outDir, relative(PACKAGE_ROOT, lua)), { recursive: true });
}

/**
 * Lambda code for `entry`, bundled at synth time in this process. The asset
 * hash is the bundle's (AssetHashType.OUTPUT), so a change anywhere in what
 * gets bundled (the example, warmroute/lambda, ioredis) changes the asset.
 * `image` is required by CDK's type but never pulled: `tryBundle` either
 * succeeds or throws, so CDK never falls back to Docker.
 */
export function bundledCode(
  entry: string,
  outFile: string,
  withWarmrouteAssets: boolean,
): lambda.Code {
  return lambda.Code.fromAsset(join(entry, '..'), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('warmroute-bundles-locally-docker-is-never-used'),
      local: {
        tryBundle(outputDir: string): boolean {
          bundleFunction({ entry, outDir: outputDir, outFile, withWarmrouteAssets });
          return true;
        },
      },
    },
  });
}
