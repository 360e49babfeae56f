/**
 * EIP-4361 (Sign-In with Ethereum) messages: the exact text the hub hands out and the worker
 * signs. Pure string code; signature checks live with ethers in the hub.
 */
import { z } from 'zod';
import { AddressSchema, IsoTimeSchema } from './common.js';

export const SiweFieldsSchema = z.object({
  domain: z.string().min(1).regex(/^[^\s/]+$/, 'a domain is host[:port]'),
  address: AddressSchema,
  statement: z.string().regex(/^[^\n]*$/).optional(),
  uri: z.string().url(),
  version: z.literal('1'),
  chainId: z.number().int().positive(),
  nonce: z.string().regex(/^[A-Za-z0-9]{8,}$/, 'a nonce is at least 8 letters or digits'),
  issuedAt: IsoTimeSchema,
  expirationTime: IsoTimeSchema.optional(),
});
export type SiweFields = z.infer<typeof SiweFieldsSchema>;

export function formatSiweMessage(input: SiweFields): string {
  const f = SiweFieldsSchema.parse(input);
  const lines = [`${f.domain} wants you to sign in with your Ethereum account:`, f.address, ''];
  if (f.statement !== undefined) lines.push(f.statement, '');
  lines.push(
    `URI: ${f.uri}`,
    `Version: ${f.version}`,
    `Chain ID: ${f.chainId}`,
    `Nonce: ${f.nonce}`,
    `Issued At: ${f.issuedAt}`,
  );
  if (f.expirationTime !== undefined) lines.push(`Expiration Time: ${f.expirationTime}`);
  return lines.join('\n');
}

const MESSAGE_RE = new RegExp(
  [
    '^(?<domain>[^\\s/]+) wants you to sign in with your Ethereum account:',
    '(?<address>0x[0-9a-fA-F]{40})',
    '',
    '(?:(?<statement>[^\\n]*)\\n\\n)?URI: (?<uri>[^\\n]+)',
    'Version: (?<version>1)',
    'Chain ID: (?<chainId>[0-9]+)',
    'Nonce: (?<nonce>[A-Za-z0-9]+)',
    'Issued At: (?<issuedAt>[^\\n]+)',
  ].join('\\n') + '(?:\\nExpiration Time: (?<expirationTime>[^\\n]+))?$',
);

/** Parses a message; returns null when it is not a well-formed EIP-4361 message. */
export function parseSiweMessage(message: string): SiweFields | null {
  const m = MESSAGE_RE.exec(message);
  if (!m?.groups) return null;
  const g = m.groups;
  const parsed = SiweFieldsSchema.safeParse({
    domain: g.domain,
    address: g.address,
    statement: g.statement,
    uri: g.uri,
    version: g.version,
    chainId: Number(g.chainId),
    nonce: g.nonce,
    issuedAt: g.issuedAt,
    expirationTime: g.expirationTime,
  });
  if (!parsed.success) return null;
  // Round-trip: only the canonical text of these fields is accepted.
  return formatSiweMessage(parsed.data) === message ? parsed.data : null;
}
