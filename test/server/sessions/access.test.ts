/** Tokens and keys on their own: signing, verifying, rotating nothing silently, and who may do what. */
import { describe, expect, it } from 'vitest';
import { LiveopError } from '../../../server/core/errors.ts';
import { authorize, createAuthenticator, parseApiKeys, TokenSigner } from '../../../server/sessions/access.ts';

const NOW = 1_700_000_000_000;

const refusal = (fn: () => unknown): { kind: string; message: string } | null => {
  try {
    fn();
    return null;
  } catch (error) {
    if (!(error instanceof LiveopError)) throw error;
    return { kind: error.kind, message: error.message };
  }
};

describe('the token signer', () => {
  const signer = new TokenSigner('a-secret-of-at-least-16-bytes');

  it('verifies what it signed: session, scope and expiry', () => {
    const token = signer.sign('s1', 'view+cancel', 60, NOW);
    expect(signer.verify(token, NOW)).toEqual({
      sid: 's1',
      scope: 'view+cancel',
      exp: NOW / 1000 + 60,
      iat: NOW / 1000,
    });
  });

  it('refuses an expired token, also when it was verified before', () => {
    const token = signer.sign('s1', 'view', 60, NOW);
    signer.verify(token, NOW);
    expect(refusal(() => signer.verify(token, NOW + 61_000))).toEqual({
      kind: 'unauthorized',
      message: 'token expired',
    });
  });

  it('refuses a token whose payload was changed, one signed with another secret, and garbage', () => {
    const token = signer.sign('s1', 'view', 60, NOW);
    const [, mac] = token.split('.');
    const forged = `${Buffer.from(JSON.stringify({ sid: 's1', scope: 'report', exp: NOW / 1000 + 60 })).toString('base64url')}.${mac}`;
    expect(refusal(() => signer.verify(forged, NOW))?.message).toMatch(/signature/);
    const other = new TokenSigner('another-secret-of-16-bytes').sign('s1', 'view', 60, NOW);
    expect(refusal(() => signer.verify(other, NOW))?.message).toMatch(/signature/);
    expect(refusal(() => signer.verify('a.b.c', NOW))?.message).toMatch(/malformed/);
  });

  it('refuses a secret shorter than 16 bytes, naming LIVEOP_SECRET', () => {
    expect(() => new TokenSigner('short')).toThrow(/LIVEOP_SECRET.*16 bytes/);
  });
});

describe('a signer with no configured secret (a random one per process)', () => {
  const refusalCode = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (error) {
      if (error instanceof LiveopError) return `${error.kind} ${error.code}`;
      throw error;
    }
  };

  it('tells a token of an earlier run (the server restarted) from a forged one, and accepts neither', () => {
    const earlier = new TokenSigner().sign('s1', 'report', 60, NOW);
    const now = new TokenSigner();
    expect(refusal(() => now.verify(earlier, NOW))).toEqual({
      kind: 'not_found',
      message: 'this operation is no longer available — the server restarted, and its sessions were kept in memory',
    });
    expect(refusalCode(() => now.verify(earlier, NOW))).toBe('not_found server_restarted');
    // This run's own tokens verify; one re-signed with this run's id but no secret does not.
    const own = now.sign('s1', 'view', 60, NOW);
    expect(now.verify(own, NOW)).toMatchObject({ sid: 's1' });
    const run = (JSON.parse(Buffer.from(own.split('.')[0]!, 'base64url').toString()) as { run: string }).run;
    const forged = `${Buffer.from(JSON.stringify({ sid: 's1', scope: 'report', exp: NOW / 1000 + 60, run })).toString('base64url')}.${own.split('.')[1]}`;
    expect(refusalCode(() => now.verify(forged, NOW))).toBe('unauthorized undefined');
    // A token with no run (a configured secret signed it) is simply not genuine.
    const keyed = new TokenSigner('a-secret-of-at-least-16-bytes').sign('s1', 'view', 60, NOW);
    expect(refusalCode(() => now.verify(keyed, NOW))).toBe('unauthorized undefined');
  });

  it('puts no run id in tokens signed with a configured secret', () => {
    const token = new TokenSigner('a-secret-of-at-least-16-bytes').sign('s1', 'view', 60, NOW);
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).not.toHaveProperty('run');
  });
});

describe('who may do what', () => {
  const session = { id: 's1', owner: 'ann' };

  it('gives each token scope its rights, on its own session only', () => {
    const token = (scope: 'view' | 'view+cancel' | 'report') =>
      ({ kind: 'token', sessionId: 's1', scope, exp: 2e9, lifetime: 3600 }) as const;
    expect(refusal(() => authorize(token('view'), 'view', session))).toBeNull();
    expect(refusal(() => authorize(token('view'), 'cancel', session))?.kind).toBe('forbidden');
    expect(refusal(() => authorize(token('view+cancel'), 'cancel', session))).toBeNull();
    expect(refusal(() => authorize(token('view+cancel'), 'report', session))?.kind).toBe('forbidden');
    expect(refusal(() => authorize(token('report'), 'own', session))).toBeNull();
    expect(refusal(() => authorize(token('report'), 'view', { id: 's2', owner: 'ann' }))?.message).toMatch(
      /another session/,
    );
  });

  it('gives a key its owner’s sessions, an admin key everyone’s', () => {
    expect(refusal(() => authorize({ kind: 'key', owner: 'ann', admin: false }, 'own', session))).toBeNull();
    expect(refusal(() => authorize({ kind: 'key', owner: 'bob', admin: false }, 'view', session))?.kind).toBe(
      'forbidden',
    );
    expect(refusal(() => authorize({ kind: 'key', owner: 'ops', admin: true }, 'own', session))).toBeNull();
  });

  it('takes keys from the header only, tokens from either', () => {
    const signer = new TokenSigner('a-secret-of-at-least-16-bytes');
    const auth = createAuthenticator(parseApiKeys('ann-key-0123456789abcdef:ann'), signer);
    expect(auth.credentialOf('ann-key-0123456789abcdef')).toEqual({ kind: 'key', owner: 'ann', admin: false });
    expect(refusal(() => auth.credentialOf('ann-key-0123456789abcdef', 'query'))?.message).toMatch(/Authorization/);
    expect(auth.credentialOf(signer.sign('s1', 'view', 60), 'query')).toMatchObject({ kind: 'token', sessionId: 's1' });
    expect(refusal(() => auth.credentialOf(undefined))?.kind).toBe('unauthorized');
    expect(createAuthenticator({}, signer).credentialOf(undefined)).toEqual({ kind: 'open' });
  });

  it('parses LIVEOP_API_KEYS and refuses short keys and bad entries', () => {
    expect(parseApiKeys(`${'k'.repeat(16)}:ann, ${'a'.repeat(16)}:ops:admin`)).toEqual({
      ['k'.repeat(16)]: { owner: 'ann', admin: false },
      ['a'.repeat(16)]: { owner: 'ops', admin: true },
    });
    expect(() => parseApiKeys('short:ann')).toThrow(/shorter than 16/);
    expect(() => parseApiKeys(`${'k'.repeat(16)}:ann:root`)).toThrow(/KEY:OWNER/);
  });
});
