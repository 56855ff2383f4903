/** Page links under a table: ‹ 1 … 4 5 [6] 7 8 … 100 › */
import { pageLinks } from '../list/model.js';

export function Pagination(props: { page: number; pageCount: number; onPage: (page: number) => void; label: string }) {
  const { page, pageCount } = props;
  return (
    <nav class="pagination" aria-label={props.label}>
      <button type="button" class="page-link" aria-label="Previous page" disabled={page <= 1} onClick={() => props.onPage(page - 1)}>
        ‹
      </button>
      {pageLinks(page, pageCount).map((p, i) =>
        p === undefined ? (
          <span key={`gap${i}`} class="page-gap" aria-hidden="true">
            …
          </span>
        ) : (
          <button
            key={p}
            type="button"
            class="page-link"
            aria-label={`Page ${p}`}
            aria-current={p === page ? 'page' : undefined}
            onClick={() => props.onPage(p)}
          >
            {p}
          </button>
        ),
      )}
      <button
        type="button"
        class="page-link"
        aria-label="Next page"
        disabled={page >= pageCount}
        onClick={() => props.onPage(page + 1)}
      >
        ›
      </button>
    </nav>
  );
}
