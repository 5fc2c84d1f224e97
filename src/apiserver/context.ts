// Per-request facts the pipeline passes along.
export interface UserInfo {
  username: string;
  groups: string[];
  uid?: string;
}

export interface RequestContext {
  user: UserInfo;
  dryRun: boolean;
  fieldValidation: 'Strict' | 'Warn' | 'Ignore';
  fieldManager?: string;
  /** HTTP Warning headers to send (upstream's 299 warnings) */
  warnings: string[];
}

export function systemContext(): RequestContext {
  return { user: { username: 'system:apiserver', groups: ['system:masters'] }, dryRun: false, fieldValidation: 'Ignore', warnings: [] };
}
