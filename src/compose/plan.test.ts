import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceHash } from './convert.js';
import type { ProjectContainer } from './containers.js';
import { L } from './labels.js';
import type { Service } from './model/types.js';
import { dependencyOrder, planService, withDependencies } from './plan.js';

const svc: Service = { name: 'web', image: 'busybox', command: ['httpd'] };
const ctr = (n: number, state = 'running', s: Service = svc, image = 'sha256:a'): ProjectContainer =>
  ({ Id: `id${n}`, Names: [`/p-web-${n}`], State: state, Labels: { [L.service]: s.name, [L.number]: String(n), [L.oneoff]: 'False', [L.configHash]: serviceHash(s), [L.image]: image } }) as unknown as ProjectContainer;
const kinds = (a: { kind: string; number: number }[]) => a.map((x) => `${x.kind}:${x.number}`);

test('unchanged running containers are kept, stopped ones started, missing ones created', () => {
  assert.deepEqual(kinds(planService(svc, [ctr(1), ctr(2, 'exited')], { replicas: 3, imageId: 'sha256:a' })), ['keep:1', 'start:2', 'create:3']);
});

test('a changed config or image recreates; --no-recreate and --force-recreate', () => {
  const changed = { ...svc, command: ['other'] };
  assert.deepEqual(kinds(planService(changed, [ctr(1)], { replicas: 1 })), ['recreate:1']);
  assert.deepEqual(kinds(planService(svc, [ctr(1)], { replicas: 1, imageId: 'sha256:b' })), ['recreate:1']);
  assert.deepEqual(kinds(planService(changed, [ctr(1)], { replicas: 1, noRecreate: true })), ['keep:1']);
  assert.deepEqual(kinds(planService(svc, [ctr(1)], { replicas: 1, forceRecreate: true })), ['recreate:1']);
});

test('scaling changes no hash; scaling down removes the highest numbers; gaps are refilled', () => {
  assert.equal(serviceHash({ ...svc, scale: 3 }), serviceHash(svc));
  assert.equal(serviceHash({ ...svc, deploy: { replicas: 2 } }), serviceHash({ ...svc, deploy: {} }));
  assert.deepEqual(kinds(planService(svc, [ctr(1), ctr(2), ctr(3)], { replicas: 1 })), ['remove:3', 'remove:2', 'keep:1']);
  assert.deepEqual(kinds(planService(svc, [ctr(2)], { replicas: 2 })), ['keep:2', 'create:1']);
});

test('dependency order and dependency closure', () => {
  const dep = (n: string, ...d: string[]): Service => ({ name: n, image: 'x', depends_on: Object.fromEntries(d.map((x) => [x, { condition: 'service_started' as const, restart: false, required: true }])) });
  const services = { web: dep('web', 'db', 'cache'), db: dep('db'), cache: dep('cache'), migrate: dep('migrate', 'db') };
  assert.deepEqual(dependencyOrder(services), ['cache', 'db', 'migrate', 'web']);
  assert.deepEqual(withDependencies(services, ['migrate']).sort(), ['db', 'migrate']);
  assert.deepEqual(withDependencies(services, ['migrate'], true), ['migrate']);
});

test('the config hash leaves out what Compose v2 leaves out (scale, replicas, build, pull_policy, depends_on, profiles)', () => {
  const base: Service = { name: 'web', image: 'busybox', command: ['httpd'] };
  const h = serviceHash(base);
  assert.equal(serviceHash({ ...base, scale: 3, deploy: { replicas: 2 }, pull_policy: 'always', profiles: ['x'] }), serviceHash({ ...base, deploy: {} }));
  assert.equal(serviceHash({ ...base, build: { context: '/src' } }), h);
  assert.equal(serviceHash({ ...base, depends_on: { db: { condition: 'service_started', restart: false, required: true } } }), h);
  assert.notEqual(serviceHash({ ...base, command: ['sh'] }), h);
  assert.notEqual(serviceHash({ ...base, develop: { watch: [] } }), h);
});
