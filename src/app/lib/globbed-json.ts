import { errorMessage } from '../../core/errors';

/** Reading a JSON file bundled with `import.meta.glob(path, { eager: true, import: 'default' })`. Pure. */
export type Globbed<T> = { status: 'missing' } | { status: 'ok'; value: T } | { status: 'invalid'; error: string };

/** The first (only) module's value, validated by `parse`; 'missing' when the glob matched no file. */
export function parseGlobbed<T>(modules: Record<string, unknown>, parse: (json: unknown) => T): Globbed<T> {
  const values = Object.values(modules);
  if (values.length === 0) return { status: 'missing' };
  try {
    return { status: 'ok', value: parse(values[0]) };
  } catch (e) {
    return { status: 'invalid', error: errorMessage(e) };
  }
}
