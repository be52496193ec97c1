/**
 * The event bus behind `GET /events`: services publish container, image, volume and network actions; subscribers
 * (event streams, `wait`, compose) receive them live. The last events are kept so `--since` can replay them.
 */
export type EventType = 'container' | 'image' | 'volume' | 'network' | 'daemon';

/** One event in Docker's wire shape (with the legacy status/id/from fields older clients read). */
export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  status?: string;
  id?: string;
  from?: string;
}

type Listener = (e: EngineEvent) => void;

const KEEP = 1024;

export class EventBus {
  private readonly recent: EngineEvent[] = [];
  private readonly listeners = new Set<Listener>();

  publish(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
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
    if (this.recent.length > KEEP) this.recent.splice(0, this.recent.length - KEEP);
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
