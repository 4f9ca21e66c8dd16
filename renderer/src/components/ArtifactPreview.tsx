/**
 * An artifact shown inline, safely: it is agent-made, so nothing in it runs or reaches the page's
 * privileges. Text, CSV and JSON are React text (never innerHTML); Markdown becomes React elements
 * through react-markdown with raw HTML dropped, links as plain text and images as their alt text
 * (no request leaves the app for them); images only as a blob: URL of a raster type the engine
 * recognised by its magic number (never SVG, which can carry script). And honest: a control, bidi or
 * invisible character in the text (U+202E can make `exe.pdf` of `fdp.exe`) is shown as its escape
 * (`\u202e`, lib/visible-text.ts), never applied; only line breaks and tabs stay.
 */
import { useEffect, useMemo, useState } from 'react';
import Markdown from 'react-markdown';
import type { ArtifactContent, IpcError } from '../../../preload/contract';
import { api, describeError } from '../lib/api';
import { visible, visibleLines } from '../lib/visible-text';
import { ErrorPanel } from './common';

/** Rows of a CSV shown in the table; the rest is counted, not rendered. */
const MAX_ROWS = 500;

export function ArtifactPreview({ task, path }: { task: string; path: string }) {
  const [content, setContent] = useState<ArtifactContent | null>(null);
  const [error, setError] = useState<IpcError | null>(null);
  useEffect(() => {
    let live = true;
    setContent(null);
    setError(null);
    api.artifacts.read({ task, path }).then((read) => live && setContent(read), (caught: unknown) => live && setError(describeError(caught)));
    return () => {
      live = false;
    };
  }, [task, path]);
  if (error) return <ErrorPanel error={error} />;
  if (!content) return <p className="muted small">Reading {path}…</p>;
  return <div className="artifact-preview" data-artifact-view={content.view.kind}><View content={content} /></div>;
}

function View({ content }: { content: ArtifactContent }) {
  const { view, bytes } = content;
  // Raw for CSV (each cell is made visible on its own, so a quoted line break stays in its cell), visible lines for the rest.
  const raw = useMemo(() => (view.kind === 'image' || view.kind === 'binary' ? '' : new TextDecoder().decode(bytes)), [view.kind, bytes]);
  const text = useMemo(() => (view.kind === 'json' ? visibleLines(prettyJson(raw)) : visibleLines(raw)), [view.kind, raw]);
  switch (view.kind) {
    case 'image':
      return <ImageView bytes={bytes} mime={view.mime} />;
    case 'markdown':
      return (
        <div className="markdown">
          <Markdown skipHtml components={{ a: ({ children }) => <span className="md-link">{children}</span>, img: ({ alt }) => <span className="muted">[image: {alt ?? ''}]</span> }}>{text}</Markdown>
        </div>
      );
    case 'csv':
      return <CsvTable text={raw} />;
    case 'json':
      return <pre className="mono small">{text}</pre>;
    case 'text':
      return <pre className="mono small">{text}</pre>;
    case 'binary':
      return <p className="muted small">A binary file ({bytes.byteLength} bytes): save it to open it with another program.</p>;
  }
}

function ImageView({ bytes, mime }: { bytes: Uint8Array; mime: string }) {
  const url = useMemo(() => URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime })), [bytes, mime]);
  useEffect(() => () => URL.revokeObjectURL(url), [url]);
  return <img src={url} alt="artifact" className="artifact-image" />;
}

function CsvTable({ text }: { text: string }) {
  const rows = useMemo(() => parseCsv(text, text.includes('\t') && !text.includes(',') ? '\t' : ','), [text]);
  const [head, ...body] = rows;
  return (
    <div className="table-wrap">
      <table className="table">
        {head && <thead><tr>{head.map((cell, i) => <th key={i}>{visible(cell)}</th>)}</tr></thead>}
        <tbody>{body.slice(0, MAX_ROWS).map((row, r) => <tr key={r}>{row.map((cell, i) => <td key={i}>{visible(cell)}</td>)}</tr>)}</tbody>
      </table>
      {body.length > MAX_ROWS && <p className="muted small">{body.length - MAX_ROWS} more rows not shown.</p>}
    </div>
  );
}

/** RFC 4180 fields: quoted fields may hold the separator, newlines and doubled quotes. */
export function parseCsv(text: string, separator: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === separator) { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
