/**
 * Typed errors across a Comlink boundary. Comlink sends a thrown Error as its message, name and
 * stack only, so `instanceof ModelFormatError` would fail on the page and fields such as `file`
 * would be lost. The worker sends every own field too (exposeErrorFields), and the page gives a
 * known error its class back (reviveError): an app catches the same types from a worker model as
 * from a model on the page.
 */
import * as Comlink from 'comlink';
import { BackendUnavailableError, ModelFetchError, ModelFormatError, ModelIntegrityError } from '../model/errors';

const TYPED: Record<string, abstract new (...args: never[]) => Error> = {
  ModelFormatError,
  ModelIntegrityError,
  ModelFetchError,
  BackendUnavailableError,
};

type Thrown = { value: unknown };

/** In the worker: thrown errors cross with their own fields (file, field, url, …). */
export function exposeErrorFields(): void {
  const builtIn = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: builtIn.canHandle,
    serialize(thrown: unknown) {
      const { value } = thrown as Thrown;
      if (!(value instanceof Error)) return builtIn.serialize(thrown);
      const fields = Object.fromEntries(
        Object.entries(value).filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v)),
      );
      return [
        { isError: true, value: { ...fields, message: value.message, name: value.name, stack: value.stack } },
        [],
      ];
    },
    deserialize: builtIn.deserialize,
  });
}

/** On the page: an error from the worker with its class back when it is one of the typed load errors. */
export function reviveError(e: unknown): unknown {
  const type = e instanceof Error && Object.hasOwn(TYPED, e.name) ? TYPED[e.name] : undefined;
  if (type && !(e instanceof type)) Object.setPrototypeOf(e, type.prototype);
  return e;
}
