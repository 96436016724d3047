/**
 * The Graphviz `dot` layout engine, compiled to WebAssembly. It is loaded once per page
 * and shared by every viewer; `warmGraphviz()` starts loading it early.
 */
import type { Graphviz } from '@hpcc-js/wasm-graphviz';

let loading: Promise<Graphviz> | null = null;

/** The shared Graphviz instance (loads the WebAssembly module on first use). */
export function graphviz(): Promise<Graphviz> {
  if (!loading) {
    loading = import('@hpcc-js/wasm-graphviz')
      .then(module => module.Graphviz.load())
      .then(gv => {
        // dot's first layout pays a one-off start-up cost: pay it now, not on first paint.
        gv.layout('digraph{a->b[label="x"]}', 'plain', 'dot');
        return gv;
      });
    loading.catch(() => {
      loading = null; // let a later call try again
    });
  }
  return loading;
}

/** Starts loading Graphviz in the background; a failure shows up at the first layout. */
export function warmGraphviz(): void {
  graphviz().catch(() => undefined);
}
