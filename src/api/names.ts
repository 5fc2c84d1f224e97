// Generated names, as upstream makes them.

/** Upstream's "safe" alphabet (rand.SafeEncodeString): consonants and digits only, so names never spell words. */
export const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** The random suffix of generateName (and of names like kube-api-access-xxxxx): 5 safe characters. */
export function randomNameSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += safeAlphabet[Math.floor(Math.random() * safeAlphabet.length)];
  return s;
}
