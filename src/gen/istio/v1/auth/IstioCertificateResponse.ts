// Original file: proto/istio/v1/auth/ca.proto


export interface IstioCertificateResponse {
  'certChain'?: (string)[];
}

export interface IstioCertificateResponse__Output {
  'certChain': (string)[];
}
