/**
 * Who is calling: a user (or the boot admin's token) and the groups that decide what it may do.
 * `groups` already holds the implicit `singular:<subject>`. A domain type: an invocation carries
 * one, and `auth/` makes and checks them.
 */
export interface Principal {
  subject: string;
  groups: string[];
  /** Id of the stored token, or the access token's id. */
  tokenId: string;
  /** How the caller authenticated. */
  via: 'api-token' | 'access-token' | 'instance-token';
  /**
   * Set for an instance's token: the one function whose objects it may use. The router refuses
   * it every other route (auth/route-access.ts `instance`); invocations see it as a member of
   * the function's owning group with `execute`.
   */
  scope?: string;
}
