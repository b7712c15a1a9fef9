/**
 * Signing in-process with the loaded intermediate. A {@link SigningAuthority} is immutable and
 * belongs to one set of CA material; the {@link CertificateAuthority} holds the current one and
 * swaps it atomically on rotation, so a request signs, builds its chain and picks its trust bundle
 * from one consistent snapshot.
 *
 * @module
 */
import { X509Certificate, sign, verify, type KeyObject } from 'node:crypto';
import { InternalError, UnavailableError } from '../errors.js';
import { PEM_CERTIFICATE, encodePem } from '../asn1/index.js';
import type { CaMaterial } from './material.js';
import { LeafTemplate, assembleCertificate, type LeafFields } from './leaf-template.js';
import type { TrustBundle } from './trust-bundle.js';

/** A certificate meshca issued, with everything a response needs. */
export interface IssuedCertificate {
  readonly der: Buffer;
  readonly pem: string;
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** PEM of each certificate between the leaf and the anchor, one per element, issuer order. */
  readonly intermediatePems: readonly string[];
  readonly trustBundle: TrustBundle;
  /** SHA-256 of the signing certificate, recorded with every issuance. */
  readonly issuerFingerprint: string;
}

/** Options for {@link SigningAuthority}. */
export interface SigningOptions {
  /**
   * Parse and verify every certificate after signing (SPIRE's credential validator pattern):
   * defence in depth against a template bug, at roughly one signature verification per request.
   */
  readonly verifyIssued: boolean;
}

/** Signs certificates with one set of CA material. */
export class SigningAuthority {
  readonly material: CaMaterial;
  readonly #template: LeafTemplate;
  readonly #intermediatePems: readonly string[];
  readonly #options: SigningOptions;
  /** `X509Certificate.publicKey` builds a new KeyObject on every access: keep one. */
  readonly #issuerKey: KeyObject;
  /** Certificate shapes (see {@link shapeOf}) that parsed correctly under this material. */
  readonly #verifiedShapes = new Set<string>();

  constructor(material: CaMaterial, options: SigningOptions) {
    this.material = material;
    this.#issuerKey = material.signingCert.x509.publicKey;
    this.#template = new LeafTemplate(material.signingCert, material.signingKey);
    this.#intermediatePems = material.intermediates.map((cert) => cert.pem);
    this.#options = options;
  }

  /**
   * Issues one certificate. Validity must already respect {@link CaMaterial.notAfter}.
   *
   * @throws {@link InternalError} `ERR_CA_EXPIRED` when asked to sign past the CA's lifetime,
   * `ERR_VALIDITY_EMPTY` for a window that ends before it starts, `ERR_SIGNING_FAILED` when the
   * key refuses to sign or the result fails its own check.
   */
  async issue(fields: LeafFields): Promise<IssuedCertificate> {
    if (fields.notAfter > this.material.notAfter) {
      throw new InternalError(
        'ERR_CA_EXPIRED',
        `cannot issue a certificate valid until ${fields.notAfter.toISOString()}: the CA is valid until ${this.material.notAfter.toISOString()}`,
      );
    }
    if (fields.notBefore >= fields.notAfter) {
      throw new InternalError(
        'ERR_VALIDITY_EMPTY',
        `cannot issue a certificate valid from ${fields.notBefore.toISOString()} until ${fields.notAfter.toISOString()}: the window is empty (the CA is valid until ${this.material.notAfter.toISOString()})`,
      );
    }
    const { tbs, serialHex } = this.#template.build(fields);
    const signature = await signAsync(this.#template.digest, tbs, this.material.signingKey);
    const der = assembleCertificate(tbs, this.#template.algorithmIdentifier, signature);
    if (this.#options.verifyIssued)
      await this.#verify(der, tbs, signature, shapeOf(der, tbs, fields));
    return {
      der,
      pem: encodePem(PEM_CERTIFICATE, der),
      serialHex,
      notBefore: fields.notBefore,
      notAfter: fields.notAfter,
      intermediatePems: this.#intermediatePems,
      trustBundle: this.material.trustBundle,
      issuerFingerprint: this.material.signingCert.sha256,
    };
  }

  /**
   * Checks the signature with the issuer's public key (on the thread pool, like signing), and
   * parses the result as any client would — once per *shape*. The template's bytes are fixed but
   * for the field values; the DER structure depends only on their lengths (the serial, the
   * times' encodings, each SAN, the key, the signature). A shape that parsed correctly once
   * parses correctly every time, so parsing every certificate (the most costly part of the check
   * on the event loop) adds nothing.
   */
  async #verify(der: Buffer, tbs: Buffer, signature: Buffer, shape: string): Promise<void> {
    let parsedOk = true;
    if (!this.#verifiedShapes.has(shape)) {
      const issuer = this.material.signingCert.x509;
      try {
        const cert = new X509Certificate(der);
        parsedOk = cert.checkIssued(issuer) && !cert.ca;
      } catch (error) {
        throw new InternalError('ERR_SIGNING_FAILED', 'issued certificate does not parse', {
          cause: error,
        });
      }
      if (parsedOk) {
        if (this.#verifiedShapes.size >= MAX_VERIFIED_SHAPES) this.#verifiedShapes.clear();
        this.#verifiedShapes.add(shape);
      }
    }
    const signatureOk = await new Promise<boolean>((resolve) => {
      verify(this.#template.digest, tbs, this.#issuerKey, signature, (error, result) => {
        resolve(error === null && result);
      });
    });
    if (!parsedOk || !signatureOk) {
      throw new InternalError('ERR_SIGNING_FAILED', 'issued certificate failed its own check');
    }
  }
}

/** Shapes remembered per CA material; a handful in practice (key types and sizes, SAN lengths). */
const MAX_VERIFIED_SHAPES = 4096;

/** The lengths that decide a certificate's DER structure under a fixed template. */
function shapeOf(der: Buffer, tbs: Buffer, fields: LeafFields): string {
  const names = fields.subjectAltNames.map((name) => `${name.type}${name.value.length}`).join(',');
  return `${der.length}/${tbs.length}/${fields.spkiDer.length}/${names}`;
}

/** Node signs on libuv's thread pool when given a callback: the event loop stays free. */
function signAsync(digest: string, data: Buffer, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sign(digest, data, key, (error, signature) => {
      if (error) {
        reject(
          new InternalError('ERR_SIGNING_FAILED', 'the CA key failed to sign', { cause: error }),
        );
      } else {
        resolve(signature);
      }
    });
  });
}

/** Receives the new authority after each rotation. */
export type AuthorityListener = (authority: SigningAuthority) => void;

/** Holds the current {@link SigningAuthority}; the one mutable point of the CA. */
export class CertificateAuthority {
  #current: SigningAuthority | undefined;
  readonly #options: SigningOptions;
  readonly #listeners = new Set<AuthorityListener>();

  constructor(options: SigningOptions) {
    this.#options = options;
  }

  /** True once material is installed. */
  get ready(): boolean {
    return this.#current !== undefined;
  }

  /**
   * The authority to use for one request.
   *
   * @throws {@link UnavailableError} `ERR_CA_NOT_READY` before material is installed.
   */
  current(): SigningAuthority {
    if (this.#current === undefined) {
      throw new UnavailableError('ERR_CA_NOT_READY', 'no CA material is loaded yet');
    }
    return this.#current;
  }

  /** Installs verified material; requests already running finish with the old one. */
  install(material: CaMaterial): SigningAuthority {
    const authority = new SigningAuthority(material, this.#options);
    this.#current = authority;
    for (const listener of this.#listeners) listener(authority);
    return authority;
  }

  /** Calls `listener` after every {@link install}; returns a function that unsubscribes. */
  onChange(listener: AuthorityListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
