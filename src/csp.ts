/**
 * The Content-Security-Policy of the built app (and the benchmark page): scripts, workers and
 * every fetch from this origin only, no inline script and no eval (WebAssembly compilation is
 * allowed for the wasm backend; Vega's expressions run in its interpreter). `vite build` puts it
 * in each page's <meta>; `vite preview` also sends it as a header, with frame-ancestors (which a
 * <meta> cannot carry). The dev server does not apply it (its hot reload injects inline script).
 */
export const CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  'script-src': ["'self'", "'wasm-unsafe-eval'"],
  'worker-src': ["'self'"],
  'connect-src': ["'self'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'style-src': ["'self'"],
  'font-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
};

/** Directives only a response header can carry. */
const HEADER_ONLY: Readonly<Record<string, readonly string[]>> = { 'frame-ancestors': ["'none'"] };

function serialize(directives: Readonly<Record<string, readonly string[]>>): string {
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');
}

/** The policy as a <meta http-equiv> carries it. */
export const CSP_META = serialize(CSP_DIRECTIVES);
/** The policy as a Content-Security-Policy header carries it. */
export const CSP_HEADER = serialize({ ...CSP_DIRECTIVES, ...HEADER_ONLY });
