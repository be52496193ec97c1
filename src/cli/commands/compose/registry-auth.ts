/** X-Registry-Auth for an image reference, from docker's config.json (the registry is the reference's domain). */
import { authHeaderForDomain } from '../../credentials.js';

export function registryDomain(ref: string): string {
  const first = ref.split('/')[0];
  return ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

export function registryAuthFor(ref: string): string {
  return authHeaderForDomain(registryDomain(ref));
}
