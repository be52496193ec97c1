/**
 * Swarm routes: berth is a single-node engine and never joins a swarm (see ARCHITECTURE's scale-out decision), so it
 * answers every swarm endpoint as a dockerd that is not part of one. SDKs and test teardowns probe these
 * (`GET /swarm`, `POST /swarm/leave`) and branch on dockerd's 503s; a 404 reads to them as a broken daemon.
 *
 * The wording and statuses are moby's (daemon/cluster/errors.go, errNoManager): manager-only calls answer
 * "This node is not a swarm manager…", leaving answers "This node is not part of a swarm", both 503. As in dockerd
 * (checked side by side with 20.10), a bad `filters` parameter or a missing or malformed JSON body is a 400 before
 * that. Creating or joining a swarm is the one thing dockerd would do here and berth does not: 501.
 */
import { invalidArgument, notImplemented, unavailable } from '../../errdefs/index.js';
import { parseFilters } from '../../pkg/filters/filters.js';
import type { RequestContext, Router } from '../server/router.js';

export const NOT_A_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
export const NOT_IN_A_SWARM = 'This node is not part of a swarm';

/** The swarm object kinds with list/inspect/remove/update routes. */
const OBJECTS = ['services', 'nodes', 'tasks', 'secrets', 'configs'] as const;

export function registerSwarmRoutes(router: Router): void {
  const notManager = async (ctx: RequestContext): Promise<never> => {
    parseFilters(ctx.query.string('filters'));
    throw unavailable(NOT_A_MANAGER);
  };
  // Routes whose handler decodes a JSON body first, as dockerd's do: an empty one is a 400 before anything else.
  const withBody = (then: (ctx: RequestContext) => Promise<never>) => async (ctx: RequestContext): Promise<never> => {
    if ((await ctx.body()) === undefined) throw invalidArgument('got EOF while reading request body');
    return then(ctx);
  };

  router.get('/swarm', notManager);
  router.get('/swarm/unlockkey', notManager);
  router.post('/swarm/unlock', withBody(notManager));
  router.post('/swarm/update', withBody(notManager));
  router.post('/swarm/leave', async () => {
    throw unavailable(NOT_IN_A_SWARM);
  });
  const noSwarmMode = async (): Promise<never> => {
    throw notImplemented('berth does not run swarm mode: it is a single-node engine (orchestrators drive it through the Engine API)');
  };
  router.post('/swarm/init', withBody(noSwarmMode));
  router.post('/swarm/join', withBody(noSwarmMode));

  for (const kind of OBJECTS) {
    router.get(`/${kind}`, notManager);
    router.get(`/${kind}/{id}`, notManager);
    if (kind === 'tasks') {
      router.get('/tasks/{id}/logs', notManager);
      continue;
    }
    router.delete(`/${kind}/{id}`, notManager);
    router.post(`/${kind}/{id}/update`, withBody(notManager));
    if (kind !== 'nodes') router.post(`/${kind}/create`, withBody(notManager));
    if (kind === 'services') router.get('/services/{id}/logs', notManager);
  }
}
