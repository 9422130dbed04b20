// Areas that later versions fill in: title plus a calm notice, not an error.
import { h, pageHeader } from '../ui.js';

export function render(container, ctx) {
  const title = ctx.route.title;
  container.replaceChildren(
    pageHeader(title, ctx.route.subtitle),
    h('section', { class: 'card notice', dataset: { field: 'not-available' } },
      h('div', { class: 'notice-icon', 'aria-hidden': 'true' }, 'i'),
      h('div', null,
        h('h2', null, `${title} is not available in this version yet`),
        h('p', null, 'This part of the panel will arrive in a later release. Nothing is wrong with your installation.'))));
}
