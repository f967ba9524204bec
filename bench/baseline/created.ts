/**
 * What the baselines answer to `POST /sessions`: the fields of the contract's
 * created session the load generator reads, with no tokens (they check none).
 */
export function tokenlessCreated(id: string, sessionUrl: string) {
  return { id, viewerToken: 'none', reporterToken: 'none', streamUrl: `${sessionUrl}/stream`, snapshotUrl: sessionUrl };
}
