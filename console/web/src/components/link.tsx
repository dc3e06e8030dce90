/** An in-app link: a real `<a href>` (keyboard, middle click, copy link all work) that navigates without a reload. */
import type { ComponentChildren } from 'preact';
import { followLink } from '../router.ts';

export function Link(props: {
  href: string;
  children: ComponentChildren;
  current?: boolean;
  class?: string;
}) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props.current ? 'page' : undefined}
      onClick={(e) => followLink(e)}
    >
      {props.children}
    </a>
  );
}
