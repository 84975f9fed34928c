/**
 * A list the companion serves (browsers, API keys): fetched once the companion is reachable, with
 * the error of the last call and the id of the item an action (such as revoking) is running on.
 * Create it while a component initialises: it registers the effect that loads the list.
 */
import { untrack } from 'svelte';
import { session } from '../session.svelte.ts';
import { errorText } from './format.ts';

export class OnlineList<T> {
  items = $state<T[] | null>(null);
  error = $state<string | null>(null);
  busy = $state<string | null>(null);
  readonly #fetch: () => Promise<T[]>;

  constructor(fetch: () => Promise<T[]>) {
    this.#fetch = fetch;
    $effect(() => {
      if (session.online && this.items === null) untrack(() => void this.load());
    });
  }

  /** (Re)loads the list; a failure lands in `error` and keeps the last list. */
  load = async (): Promise<void> => {
    try {
      this.items = await this.#fetch();
      this.error = null;
    } catch (err) {
      this.error = errorText(err);
    }
  };

  /** Runs `action` for the item `id` with `busy` set; a failure lands in `error`. */
  async act(id: string, action: () => Promise<void>): Promise<void> {
    this.busy = id;
    try {
      await action();
    } catch (err) {
      this.error = errorText(err);
    } finally {
      this.busy = null;
    }
  }
}
