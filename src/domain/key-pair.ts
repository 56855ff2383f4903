/** A key pair as nestbox records it. EC2 keeps only the public half; the private key is returned once. */
import type { Scope } from './instance.js';

export interface KeyPairRecord extends Scope {
  /** `key-…` */
  readonly id: string;
  readonly name: string;
  readonly keyType: 'rsa' | 'ed25519';
  /** as DescribeKeyPairs shows it (EC2's fingerprint rules differ for created and imported keys) */
  readonly fingerprint: string;
  /** OpenSSH one-line form, `ssh-ed25519 AAAA… name` */
  readonly publicKey: string;
  readonly createTime: string;
}
