/**
 * custom-elements.json (`npm run analyze`, run by `npm run build`) as tools
 * read it: each element's attributes are its public properties, and its
 * internal reactive state (`state: true`) is private, with no attribute.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

interface Member {
  kind: string;
  name: string;
  privacy?: string;
  attribute?: string;
}
interface Declaration {
  name: string;
  tagName?: string;
  members: Member[];
  attributes: { name: string; fieldName?: string }[];
}

const manifest = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../custom-elements.json'), 'utf8')) as {
  modules: { declarations: Declaration[] }[];
};
const element = (tag: string) => manifest.modules.flatMap((m) => m.declarations).find((d) => d.tagName === tag)!;

describe('the custom elements manifest', () => {
  it.each([
    [
      'live-operation',
      [
        'src',
        'token',
        'session-id',
        'base-url',
        'cancelable',
        'notify',
        'log-order',
        'log-mode',
        'log-open',
        'max-log-lines',
        'strings',
        'theme',
      ],
    ],
    [
      'live-operation-list',
      [
        'src',
        'base-url',
        'token',
        'parent',
        'top-level',
        'tags',
        'operation',
        'status',
        'query',
        'since',
        'until',
        'limit',
        'actions',
        'no-filters',
        'refresh-interval',
        'strings',
        'theme',
      ],
    ],
  ])('lists <%s>’s public properties as its attributes, and only those', (tag, attributes) => {
    const declaration = element(tag);
    expect(declaration.attributes.map((a) => a.name)).toEqual(attributes);
    for (const { fieldName } of declaration.attributes) {
      expect(declaration.members.find((m) => m.name === fieldName)).toMatchObject({ kind: 'field', privacy: 'public' });
    }
  });

  it.each([
    ['live-operation', ['_snapshot', '_logs', '_problem', '_confirming']],
    ['live-operation-list', ['_sessions', '_cursor', '_open', '_problem']],
  ])('lists <%s>’s internal state as private fields with no attribute', (tag, state) => {
    const { members } = element(tag);
    for (const name of state) {
      const member = members.find((m) => m.name === name);
      expect(member).toMatchObject({ kind: 'field', privacy: 'private' });
      expect(member).not.toHaveProperty('attribute');
    }
    expect(members.filter((m) => m.name.startsWith('_') && m.privacy !== 'private')).toEqual([]);
  });
});
