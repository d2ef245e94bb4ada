/** COS's XML: documents written from objects, and the escapes of the values read back. */

/** Escapes text for XML element content. */
function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export function xmlUnescape(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&amp;/g, '&');
}

export type XmlValue = string | number | boolean | undefined | XmlNode | XmlNode[] | XmlValue[];
export interface XmlNode {
  [name: string]: XmlValue;
}

/** Serialises `{ Root: { A: 1, B: [{...}, {...}] } }`; arrays repeat the element. */
export function toXml(node: XmlNode): string {
  const render = (name: string, value: XmlValue): string => {
    if (value === undefined) return '';
    if (Array.isArray(value)) return value.map((item) => render(name, item)).join('');
    if (typeof value === 'object') {
      return `<${name}>${Object.entries(value)
        .map(([k, v]) => render(k, v))
        .join('')}</${name}>`;
    }
    return `<${name}>${xmlEscape(String(value))}</${name}>`;
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${Object.entries(node)
    .map(([k, v]) => render(k, v))
    .join('')}`;
}
