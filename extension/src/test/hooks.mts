/**
 * Node module hooks for running the compiled unit tests: `tsc` writes lib/ as ES modules
 * with extensionless relative imports (what the webpack build of the extension wants), in
 * a package that does not declare `"type": "module"`. For files under lib/ these hooks
 * resolve `./dot` to `./dot.js` and load `.js` files as ES modules. Nothing else changes.
 */

/** The compiled output folder: the parent of this file's folder. */
const LIB = new URL('../', import.meta.url).href;

interface IResolveContext {
  parentURL?: string;
}

interface ILoadContext {
  format?: string | null;
}

type NextResolve = (specifier: string, context: IResolveContext) => Promise<unknown>;
type NextLoad = (url: string, context: ILoadContext) => Promise<unknown>;

/** Adds `.js` to an extensionless relative import made by a file under lib/. */
export function resolve(
  specifier: string,
  context: IResolveContext,
  next: NextResolve
): Promise<unknown> {
  const relative = specifier.startsWith('./') || specifier.startsWith('../');
  const fromLib = context.parentURL?.startsWith(LIB) ?? false;
  if (relative && fromLib && !/\.[cm]?js$|\.json$/.test(specifier)) {
    return next(`${specifier}.js`, context);
  }
  return next(specifier, context);
}

/** Loads the `.js` files under lib/ as ES modules. */
export function load(url: string, context: ILoadContext, next: NextLoad): Promise<unknown> {
  if (url.startsWith(LIB) && url.endsWith('.js')) {
    return next(url, { ...context, format: 'module' });
  }
  return next(url, context);
}
