/**
 * The state of a list page, the same for every list, in two hooks: useFilterTokens — the property
 * filter's tokens and text, and the API filters they give (the list reads the API with them) — and
 * useListView — the sort, the page and the selection over the rows read: the rows shown (sorted, then
 * matched here), the page of them drawn, and the selection, kept to the rows shown.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { type Sort, pageOf, pruneSelection, selectAllState, toggled } from './model.js';
import type { FilterableRow, ListFilter, Token } from './property-filter.js';

export function useFilterTokens<R>(model: ListFilter<R>, initialTokens: readonly Token[] = []) {
  const [tokens, setTokens] = useState<readonly Token[]>(initialTokens);
  const [text, setText] = useState('');
  // `=` tokens the API can filter on are sent with every request; the rest is matched here.
  const filters = useMemo(() => model.apiFilters(tokens), [model, tokens]);
  return {
    model,
    tokens,
    setTokens,
    text,
    setText,
    /** the text, unless it is a token being typed */
    freeText: model.parseTokenText(text) ? '' : text,
    /** the API filters, and a key that changes with them */
    filters,
    filtersKey: JSON.stringify(filters),
    /** some tokens or text */
    filtered: tokens.length > 0 || text !== '',
    clear: () => {
      setTokens([]);
      setText('');
    },
  };
}

export type FilterTokens<R> = ReturnType<typeof useFilterTokens<R>>;

export function useListView<R extends FilterableRow & { readonly id: string }, C extends string>(opts: {
  rows: readonly R[];
  filter: FilterTokens<R>;
  sortRows: (rows: readonly R[], sort: Sort<C>) => R[];
  defaultSort: Sort<C>;
  pageSize: number;
}) {
  const { rows, sortRows, pageSize } = opts;
  const { model, tokens, freeText } = opts.filter;
  const [sort, setSort] = useState<Sort<C>>(opts.defaultSort);
  const [page, setPage] = useState(1);
  const [selectedIds, setSelectedIds] = useState<ReadonlySet<string>>(new Set());

  const sorted = useMemo(() => sortRows(rows, sort), [sortRows, rows, sort]);
  const shown = useMemo(() => sorted.filter(model.rowMatcher(tokens, freeText)), [model, sorted, tokens, freeText]);
  const view = pageOf(shown, page, pageSize);

  // The selection never reaches a row the filter hides.
  const selection = pruneSelection(selectedIds, shown);
  useEffect(() => {
    if (selection !== selectedIds) setSelectedIds(selection);
  }, [selection, selectedIds]);
  const selected = useMemo(() => shown.filter((r) => selection.has(r.id)), [shown, selection]);
  // A new filter or sort starts at the first page.
  useEffect(() => setPage(1), [tokens, freeText, sort]);

  return {
    sort,
    setSort,
    setPage,
    shown,
    view,
    selection,
    selected,
    allState: selectAllState(selection, shown),
    toggle: (id: string, on: boolean) => setSelectedIds((s) => toggled(s, id, on)),
    selectAll: (on: boolean) => setSelectedIds(on ? new Set(shown.map((r) => r.id)) : new Set()),
    /** a click on a row (not on its link, checkbox or a button) selects that row alone */
    rowClick: (id: string) => (e: MouseEvent) => {
      if ((e.target as HTMLElement).closest('a, input, button')) return;
      setSelectedIds(new Set([id]));
    },
  };
}
