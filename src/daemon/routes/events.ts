/**
 * `GET /events`: replays kept events from `since`, then streams live ones until `until` or the client leaves.
 */
import { parseFilters, Filters } from '../../pkg/filters/filters.js';
import { parseTimestamp } from '../../pkg/units/units.js';
import type { Router } from '../server/router.js';
import type { EngineEvent } from '../../api/types/system.js';

/** What the events route needs: the kept events and the live feed (the daemon's EventBus). */
export interface EventsBackend {
  /** Kept events with time (ns) in [sinceNs, untilNs]. */
  history(sinceNs: number, untilNs?: number): EngineEvent[];
  /** Subscribes; returns the unsubscribe function. */
  subscribe(listener: (e: EngineEvent) => void): () => void;
}

function toNs(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const t = parseTimestamp(v);
  return t.seconds * 1e9 + t.nanos;
}

/** An image reference without its tag (`busybox:1` → `busybox`; digests and registry ports are kept). */
function stripTag(ref: string): string {
  const at = ref.indexOf('@');
  if (at >= 0) return ref;
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
}

/**
 * dockerd's event filter (daemon/events/filter.go): every key given must match, values of one key are
 * alternatives. container/network/volume/daemon match the actor's ID (or a prefix of it) or its `name`; image
 * matches the ID or the image name (`image` attribute, `name` for image events), with or without its tag; event
 * matches the action, or for `exec_create`/`exec_start`/`health_status` the part before its `:`.
 */
export function eventMatches(e: EngineEvent, f: Filters): boolean {
  const attrs = e.Actor.Attributes;
  const any = (key: string, test: (v: string) => boolean) => !f.has(key) || f.get(key).some(test);
  const fuzzyName = (key: string) => any(key, (v) => e.Actor.ID === v || e.Actor.ID.startsWith(v) || attrs.name === v || (attrs.name ?? '').startsWith(v));
  const imageName = (e.Type === 'image' ? attrs.name : attrs.image) ?? '';
  return (
    any('type', (v) => v === e.Type) &&
    any('event', (v) => v === e.Action || e.Action.startsWith(`${v}:`)) &&
    (!f.has('container') || (e.Type === 'container' && fuzzyName('container'))) &&
    any('image', (v) => [e.Actor.ID, imageName, stripTag(e.Actor.ID), stripTag(imageName)].includes(v)) &&
    (!f.has('volume') || (e.Type === 'volume' && fuzzyName('volume'))) &&
    (!f.has('network') || (e.Type === 'network' && fuzzyName('network'))) &&
    (!f.has('daemon') || (e.Type === 'daemon' && fuzzyName('daemon'))) &&
    any('scope', (v) => v === 'local') &&
    (!f.has('label') || f.matchKVList('label', attrs))
  );
}

export function registerEventRoutes(router: Router, bus: EventsBackend): void {
  router.get('/events', async (ctx) => {
    const filters = parseFilters(ctx.query.string('filters'));
    filters.validate(['container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume', 'config']);
    const sinceNs = toNs(ctx.query.string('since'));
    const untilNs = toNs(ctx.query.string('until'));
    const stream = ctx.jsonStream();
    const nowNs = Date.now() * 1e6;
    for (const e of bus.history(sinceNs ?? nowNs + 1, untilNs)) if (eventMatches(e, filters)) stream.write(e);
    if (untilNs !== undefined && untilNs <= nowNs) {
      stream.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const unsubscribe = bus.subscribe((e) => {
        if (untilNs !== undefined && e.timeNano > untilNs) return finish();
        if (eventMatches(e, filters)) stream.write(e);
      });
      const timer = untilNs !== undefined ? setTimeout(finish, (untilNs - nowNs) / 1e6) : undefined;
      function finish() {
        unsubscribe();
        if (timer) clearTimeout(timer);
        stream.end();
        resolve();
      }
      ctx.signal.addEventListener('abort', finish, { once: true });
    });
  });
}
