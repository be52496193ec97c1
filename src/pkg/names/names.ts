/**
 * Container names: Docker-style random `adjective_surname` names and Docker's container-name rule.
 */
import { randomInt } from 'node:crypto';
import { invalidArgument } from '../../errdefs/index.js';

// Our own lists (not Docker's): cheerful adjectives, and surnames of scientists, engineers and mathematicians.
export const ADJECTIVES: readonly string[] = [
  'able', 'agile', 'amazing', 'ardent', 'awesome', 'bold', 'boring', 'brave', 'bright', 'brisk',
  'calm', 'candid', 'careful', 'charming', 'cheerful', 'clever', 'cool', 'cosmic', 'crisp', 'curious',
  'dapper', 'daring', 'dazzling', 'deft', 'determined', 'diligent', 'dreamy', 'eager', 'earnest', 'elated',
  'elegant', 'epic', 'fearless', 'festive', 'fierce', 'fond', 'frank', 'friendly', 'gallant', 'gentle',
  'gifted', 'gleeful', 'glowing', 'graceful', 'happy', 'hardy', 'hopeful', 'humble', 'jolly', 'jovial',
  'keen', 'kind', 'lively', 'loyal', 'lucid', 'lucky', 'magical', 'merry', 'mighty', 'modest',
  'nifty', 'nimble', 'noble', 'optimistic', 'patient', 'peaceful', 'placid', 'plucky', 'polite', 'proud',
  'quick', 'quiet', 'quirky', 'radiant', 'rapid', 'relaxed', 'resolute', 'robust', 'serene', 'sharp',
  'shiny', 'sincere', 'smart', 'snappy', 'sparkly', 'spirited', 'steady', 'stoic', 'sturdy', 'sunny',
  'swift', 'tender', 'thoughtful', 'tidy', 'trusty', 'upbeat', 'valiant', 'vibrant', 'vivid', 'witty',
  'wonderful', 'zealous', 'zen',
];

export const SURNAMES: readonly string[] = [
  'agnesi', 'allen', 'ampere', 'archimedes', 'babbage', 'backus', 'bardeen', 'bartik', 'bell', 'bernoulli',
  'blackwell', 'bohr', 'boole', 'borg', 'bose', 'brahe', 'cantor', 'carson', 'cerf', 'chandrasekhar',
  'clarke', 'conway', 'copernicus', 'cori', 'curie', 'darwin', 'descartes', 'dijkstra', 'dirac', 'easley',
  'edison', 'einstein', 'elion', 'engelbart', 'euclid', 'euler', 'faraday', 'fermat', 'fermi', 'feynman',
  'franklin', 'galileo', 'gauss', 'germain', 'goldberg', 'goodall', 'hamilton', 'hawking', 'heisenberg', 'hertz',
  'hodgkin', 'hopper', 'hubble', 'huygens', 'hypatia', 'jackson', 'johnson', 'joule', 'kalam', 'kepler',
  'khorana', 'knuth', 'kowalevski', 'lamarr', 'lamport', 'leakey', 'leavitt', 'lovelace', 'maxwell', 'mcclintock',
  'meitner', 'mendel', 'minsky', 'mirzakhani', 'morse', 'newton', 'nobel', 'noether', 'ohm', 'pascal',
  'pasteur', 'payne', 'planck', 'poincare', 'ramanujan', 'ritchie', 'sagan', 'shannon', 'stallman', 'tesla',
  'thompson', 'torvalds', 'turing', 'volta', 'wescoff', 'wiles', 'wilson', 'wing', 'wozniak', 'wright',
  'yalow', 'yonath',
];

/** How many plain attempts generateName makes before it starts appending digits. */
const PLAIN_ATTEMPTS = 3;
const MAX_ATTEMPTS = 1000;

/** One random `adjective_surname`, optionally with a random digit appended ("sunny_curie7"). */
export function randomName(withDigit = false, rand: (n: number) => number = randomInt): string {
  for (;;) {
    const name = `${ADJECTIVES[rand(ADJECTIVES.length)]}_${SURNAMES[rand(SURNAMES.length)]}`;
    // Steve Wozniak is not boring (Docker's rule, kept).
    if (name === 'boring_wozniak') continue;
    return withDigit ? name + rand(10) : name;
  }
}

/**
 * A random name that `taken` reports free. After PLAIN_ATTEMPTS collisions a digit is appended, then more digits
 * as collisions continue, so it terminates even when most plain names are used.
 */
export function generateName(taken: (name: string) => boolean, rand: (n: number) => number = randomInt): string {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    let name = randomName(i >= PLAIN_ATTEMPTS, rand);
    // Each 100 attempts past the plain ones widen the suffix by a digit.
    for (let extra = Math.floor((i - PLAIN_ATTEMPTS) / 100); extra > 0; extra--) name += rand(10);
    if (!taken(name)) return name;
  }
  throw new Error('unable to generate a unique container name');
}

const validName = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * Checks a user-given container name (an optional leading "/" is allowed, as the API does) and returns it without
 * the slash. Throws InvalidArgument with Docker's message.
 */
export function validateContainerName(name: string): string {
  if (!validName.test(name)) {
    throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.startsWith('/') ? name.slice(1) : name;
}
