/** Key attributes as the create form takes them: `tenant=team-c, residency=eu`. */
export function parseAttributes(text: string): { attributes: Record<string, string> } | { problem: string } {
  const attributes: Record<string, string> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) return { problem: `attribute ${JSON.stringify(item)} must be name=value` };
    const name = item.slice(0, eq).trim();
    if (name in attributes) return { problem: `attribute ${name} is given twice` };
    attributes[name] = item.slice(eq + 1).trim();
  }
  return { attributes };
}
