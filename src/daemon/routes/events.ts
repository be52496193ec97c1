/**
 * `GET /events`: replays kept events from `since`, then streams live ones until `until` or the client leaves.
 */
import { parseFilters, Filters } from '../../pkg/filters/filters.js';
import { parseTimestamp } from '../../pkg/units/units.js';
import type { Router } from '../server/router.js';
import type { EngineEvent, EventBus } from '../services/events.js';

function toNs(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const t = parseTimestamp(v);
  return t.seconds * 1e9 + t.nanos;
}

/** Docker's event filter semantics: each given key must match; values of one key are alternatives. */
export function eventMatches(e: EngineEvent, f: Filters): boolean {
  const attrs = e.Actor.Attributes;
  const any = (key: string, test: (v: string) => boolean) => !f.has(key) || f.get(key).some(test);
  return (
    any('type', (v) => v === e.Type) &&
    any('event', (v) => v === e.Action || e.Action.startsWith(`${v}:`)) &&
    any('container', (v) => e.Type === 'container' && (e.Actor.ID.startsWith(v) || attrs.name === v)) &&
    any('image', (v) => attrs.image === v || e.Actor.ID === v || (e.Type === 'image' && attrs.name === v)) &&
    any('volume', (v) => e.Type === 'volume' && e.Actor.ID === v) &&
    any('network', (v) => e.Type === 'network' && (e.Actor.ID.startsWith(v) || attrs.name === v)) &&
    any('scope', (v) => v === 'local') &&
    (!f.has('label') || f.matchKVList('label', attrs))
  );
}

export function registerEventRoutes(router: Router, bus: EventBus): void {
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
