/**
 * Reads the fenced code blocks of a Markdown file, with what a type check of them needs: the
 * section they sit in, the line they start on, and the context a fragment assumes.
 *
 * Context convention: an HTML comment right above a block (blank lines allowed in between),
 *
 *     <!-- snippet-context: declare const bus: EventBus; -->
 *
 * or spread over several lines (everything between the marker and `-->`), is TypeScript placed
 * before the block when it is compiled. It declares what the block uses but does not show
 * (`declare const bus: EventBus;`, a type the text describes). It is invisible on the rendered page.
 */

/** One fenced code block of a Markdown file. */
export interface MarkdownBlock {
  /** The fence's info string, lower-cased (`ts`, `typescript`, `json`, `bash`, ...). */
  readonly lang: string;
  /** The nearest heading above the block, without its `#`s. */
  readonly heading: string;
  /** 1-based line number of the block's first code line (the line after the opening fence). */
  readonly line: number;
  /** The block's code, without the fences. */
  readonly code: string;
  /** The TypeScript of a `snippet-context` comment right above the block, or `''`. */
  readonly context: string;
}

const FENCE = /^(\s*)(```+)\s*([\w-]*)/;
const CONTEXT_OPEN = '<!-- snippet-context:';

/** Every fenced code block of `markdown`, in document order. */
export function readMarkdownBlocks(markdown: string): MarkdownBlock[] {
  const lines = markdown.split('\n');
  const blocks: MarkdownBlock[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const headingMatch = /^#{1,6}\s+(.*)$/.exec(lines[i]);
    if (headingMatch) {
      heading = headingMatch[1].trim();
      continue;
    }
    const fence = FENCE.exec(lines[i]);
    if (!fence) continue;
    const [, indent, ticks, lang] = fence;
    const end = findClosingFence(lines, i + 1, ticks);
    blocks.push({
      lang: lang.toLowerCase(),
      heading,
      line: i + 2,
      code: lines
        .slice(i + 1, end)
        .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
        .join('\n'),
      context: contextAbove(lines, i),
    });
    i = end;
  }
  return blocks;
}

/** The TypeScript blocks (```ts and ```typescript) of `markdown`. */
export function readTypeScriptBlocks(markdown: string): MarkdownBlock[] {
  return readMarkdownBlocks(markdown).filter((b) => b.lang === 'ts' || b.lang === 'typescript');
}

function findClosingFence(lines: readonly string[], from: number, ticks: string): number {
  for (let j = from; j < lines.length; j++) {
    if (lines[j].trim() === ticks) return j;
  }
  throw new Error(`unclosed code fence opened at line ${from}`);
}

function contextAbove(lines: readonly string[], fenceIndex: number): string {
  let j = fenceIndex - 1;
  while (j >= 0 && lines[j].trim() === '') j--;
  if (j < 0 || !lines[j].trimEnd().endsWith('-->')) return '';
  let start = j;
  while (start >= 0 && !lines[start].includes('<!--')) start--;
  if (start < 0) return '';
  const comment = lines
    .slice(start, j + 1)
    .join('\n')
    .trim();
  if (!comment.startsWith(CONTEXT_OPEN)) return '';
  return comment.slice(CONTEXT_OPEN.length, -'-->'.length).trim();
}
