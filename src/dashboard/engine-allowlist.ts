/**
 * The Engine API calls the dashboard's pages may make, through `/engine/<api path>`. Reads are GETs of the views'
 * resources; changes are the dashboard's actions (start, stop, restart, pause, unpause, kill, remove, prune, image
 * pull and remove). Anything else — create, exec (the terminal has its own WebSocket), build, archive, swarm — is
 * refused, so a stolen page context cannot do more than the dashboard's buttons.
 */
const ID = '[^/]+';

const allowed: Array<[method: string, pattern: RegExp]> = [
  ['GET', /^\/(_ping|version|info|system\/df|events)$/],
  ['GET', new RegExp(`^/containers/json$`)],
  ['GET', new RegExp(`^/containers/${ID}/(json|top|logs|stats)$`)],
  ['GET', /^\/images\/json$/],
  ['GET', new RegExp(`^/images/${ID}/(json|history)$`)],
  ['GET', /^\/volumes$/],
  ['GET', new RegExp(`^/volumes/${ID}$`)],
  ['GET', /^\/networks$/],
  ['GET', new RegExp(`^/networks/${ID}$`)],
  ['POST', new RegExp(`^/containers/${ID}/(start|stop|restart|pause|unpause|kill)$`)],
  ['POST', /^\/(containers|images|volumes|networks)\/prune$/],
  ['POST', /^\/images\/create$/],
  ['DELETE', new RegExp(`^/containers/${ID}$`)],
  ['DELETE', new RegExp(`^/images/${ID}$`)],
  ['DELETE', new RegExp(`^/volumes/${ID}$`)],
];

const versionPrefix = /^\/v\d+\.\d+(?=\/)/;

/** Whether `method path` (an Engine API path, optionally `/vX.Y`-prefixed, without the query) is a dashboard call. */
export function isDashboardEngineCall(method: string, path: string): boolean {
  const p = path.replace(versionPrefix, '');
  const m = method === 'HEAD' ? 'GET' : method;
  return allowed.some(([am, re]) => am === m && re.test(p));
}

/** Whether a method can change state (and so needs the same-origin and CSRF checks). */
export function changesState(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD';
}
