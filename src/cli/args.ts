// Minimal flag parsing with upstream-style `--flag value` / `--flag=value`.
export interface ParsedArgs {
  flags: Map<string, string | true>;
  positionals: string[];
}

export function parseArgs(argv: string[], booleanFlags: Set<string>): ParsedArgs {
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
      else if (booleanFlags.has(a.slice(2))) flags.set(a.slice(2), true);
      else {
        const v = argv[i + 1];
        if (v === undefined) throw new Error(`flag ${a} needs a value`);
        flags.set(a.slice(2), v);
        i++;
      }
    } else positionals.push(a);
  }
  return { flags, positionals };
}

export function str(p: ParsedArgs, name: string, dflt: string): string {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : dflt;
}

export function num(p: ParsedArgs, name: string, dflt: number): number {
  const v = p.flags.get(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`flag --${name} needs a number, got ${JSON.stringify(v)}`);
  return n;
}

/** A duration flag in seconds: "40", "40s", "5m", "1h" (upstream takes Go durations). */
export function seconds(p: ParsedArgs, name: string, dflt: number): number {
  const v = p.flags.get(name);
  if (v === undefined) return dflt;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(v));
  if (!m) throw new Error(`flag --${name} needs a duration like 40s or 5m, got ${JSON.stringify(v)}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
}
