/**
 * The event bus behind `GET /events`: services publish container, image, volume and network actions; subscribers
 * (event streams, `wait`, compose) receive them live. The last events are kept so `--since` can replay them.
 */
import type { EngineEvent, EventType } from '../../api/types/system.js';

export type { EngineEvent, EventType };

type Listener = (e: EngineEvent) => void;

/**
 * Attributes every event of a type carries beside what its publisher gives, looked up by actor ID: a container's
 * labels (dockerd copies them into every container event), an image's labels. The publisher's own attributes win.
 */
export type AttributeSource = (id: string, action: string) => Record<string, string> | undefined;

/** Events kept for `--since` replays: dockerd's eventsLimit (daemon/events); ~8 per `docker run --rm`. */
export const EVENTS_KEPT = 256;

export class EventBus {
  private readonly recent: EngineEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private readonly sources = new Map<EventType, AttributeSource>();

  /** Sets where the common attributes of a type's events come from (see AttributeSource). */
  setAttributeSource(type: EventType, source: AttributeSource): void {
    this.sources.set(type, source);
  }

  publish(type: EventType, action: string, id: string, given: Record<string, string> = {}): EngineEvent {
    let common: Record<string, string> | undefined;
    try {
      common = this.sources.get(type)?.(id, action);
    } catch {
      common = undefined; // the actor is gone (a destroy): the publisher's attributes are all there is
    }
    const attributes = common ? { ...common, ...given } : given;
    const nowNs = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    const e: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    if (type === 'container' || type === 'image') {
      e.status = action;
      e.id = id;
      if (attributes.image) e.from = attributes.image;
    }
    this.recent.push(e);
    if (this.recent.length > EVENTS_KEPT) this.recent.splice(0, this.recent.length - EVENTS_KEPT);
    for (const l of this.listeners) l(e);
    return e;
  }

  /** Subscribes; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Kept events with time (ns) in [sinceNs, untilNs]. */
  history(sinceNs: number, untilNs = Infinity): EngineEvent[] {
    return this.recent.filter((e) => e.timeNano >= sinceNs && e.timeNano <= untilNs);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

/** What container events carry as dockerd's do: the labels, `image` (as given), `name`; die adds `execDuration`. */
export function containerEventAttributes(
  rec: { Name: string; Config: { Image: string; Labels?: Record<string, string> | null }; State: { StartedAt: string } },
  action: string,
): Record<string, string> {
  const a: Record<string, string> = { ...(rec.Config.Labels ?? {}), image: rec.Config.Image, name: rec.Name.replace(/^\//, '') };
  if (action === 'die' && rec.State.StartedAt && !rec.State.StartedAt.startsWith('0001')) {
    // whole seconds since the start, as dockerd's int(time.Since(StartedAt).Seconds())
    a.execDuration = String(Math.max(0, Math.floor((Date.now() - Date.parse(rec.State.StartedAt)) / 1000)));
  }
  return a;
}
