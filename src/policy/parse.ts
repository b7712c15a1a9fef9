/**
 * Reads a policy document (YAML, or JSON, which is YAML) from its exact bytes, validates it with
 * the zod schema, and reports every problem with its file, JSON path, line and column (the
 * `yaml` package's LineCounter maps node offsets to positions).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  type Document,
  type Node,
} from 'yaml';
import type { z } from 'zod';
import { MAX_POLICY_BYTES, policyDocumentSchema, type PolicyDocument } from './document.js';
import { PolicyParseError, type PolicyIssue } from './errors.js';

/** A 1-based position in a document. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** A valid document, with what is needed to talk about it. */
export interface ParsedPolicy {
  readonly document: PolicyDocument;
  /** Where it came from (a path, or `ConfigMap ns/name key`). */
  readonly file: string;
  /** SHA-256 (hex) of the exact bytes: the version's identity in logs and metrics. */
  readonly sha256: string;
  /** Where each rule (by index) starts, for lint and explain messages. */
  readonly rulePositions: readonly (SourcePosition | undefined)[];
}

type Path = readonly PropertyKey[];

/**
 * Parses and validates one policy document.
 *
 * @throws {@link PolicyParseError} listing every problem found.
 */
export function parsePolicyDocument(bytes: Uint8Array, file: string): ParsedPolicy {
  const fail = (message: string, position?: SourcePosition): never => {
    throw new PolicyParseError([
      { file, path: '', line: position?.line, column: position?.column, message },
    ]);
  };
  if (bytes.byteLength > MAX_POLICY_BYTES) {
    fail(`the document is larger than ${MAX_POLICY_BYTES} bytes`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('the document is not valid UTF-8');
  }
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const documents = Array.isArray(parsed) ? parsed : [];
  if (documents.length === 0) fail('the document is empty');
  if (documents.length > 1) {
    fail(
      'holds several YAML documents; give one policy per file',
      position(lineCounter, documents[1]?.contents),
    );
  }
  const yamlDocument = documents[0] as Document.Parsed;
  if (yamlDocument.errors.length > 0) {
    throw new PolicyParseError(
      yamlDocument.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return {
          file,
          path: '',
          line,
          column: col,
          message: error.message.split('\n')[0] ?? error.message,
        };
      }),
    );
  }
  let value: unknown;
  try {
    value = yamlDocument.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return fail((error as Error).message);
  }
  const result = policyDocumentSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.flatMap((issue) =>
      issuesOf(issue, yamlDocument, lineCounter, file),
    );
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    throw new PolicyParseError(issues);
  }
  const rules = yamlDocument.getIn(['spec', 'rules'], true);
  const rulePositions = result.data.spec.rules.map((_rule, index) =>
    isSeq(rules) ? position(lineCounter, rules.items[index] as Node | undefined) : undefined,
  );
  return {
    document: result.data,
    file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    rulePositions,
  };
}

/** One zod issue as one or more located issues (one per unknown key). */
function issuesOf(
  issue: z.core.$ZodIssue,
  document: Document.Parsed,
  lineCounter: LineCounter,
  file: string,
): PolicyIssue[] {
  if (issue.code === 'unrecognized_keys') {
    const map = document.getIn(issue.path, true);
    return issue.keys.map((key) => {
      const pair = isMap(map)
        ? map.items.find((item) => isScalar(item.key) && item.key.value === key)
        : undefined;
      const at = position(
        lineCounter,
        (pair?.key as Node | undefined) ?? nodeAt(document, issue.path),
      );
      return {
        file,
        path: formatPath([...issue.path, key]),
        line: at?.line,
        column: at?.column,
        message: 'unknown field',
      };
    });
  }
  const at = position(lineCounter, nodeAt(document, issue.path));
  return [
    {
      file,
      path: formatPath(issue.path),
      line: at?.line,
      column: at?.column,
      message: issue.message,
    },
  ];
}

/** The node at `path`, or at its nearest existing ancestor (a missing field). */
function nodeAt(document: Document.Parsed, path: Path): Node | undefined {
  for (let length = path.length; length >= 0; length--) {
    const node = length === 0 ? document.contents : document.getIn(path.slice(0, length), true);
    if (node !== undefined && node !== null && typeof node === 'object' && 'range' in node) {
      return node as Node;
    }
  }
  return undefined;
}

function position(
  lineCounter: LineCounter,
  node: Node | null | undefined,
): SourcePosition | undefined {
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** `spec.rules[2].keyTypes[0]`. */
export function formatPath(path: Path): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text;
}
