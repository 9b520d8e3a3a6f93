// axe leaves the contrast of text in SVG charts "to review" (it cannot see what lies under
// it), so tests/browser/axe.py measures the charts' text with this: its fill against the shapes
// under its centre, blended over the page's white, with WCAG's thresholds (4.5:1; 3:1 for
// large text). Returns one line per text below its threshold.
() => {
  const channel = (c) => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const rgba = (text) => {
    const m = text.match(/[\d.]+/g) || [];
    return m.length < 3 ? null : m.map(Number);
  };
  const path = (el) => {
    const classes = (el.getAttribute("class") || "").trim().split(/\s+/).filter(Boolean);
    const place = ["x", "y"].filter((a) => el.hasAttribute(a));
    return el.tagName + classes.map((c) => "." + c).join("")
      + place.map((a) => `[${a}="${el.getAttribute(a)}"]`).join("");
  };
  const found = [];
  for (const text of document.querySelectorAll("svg text")) {
    if (!text.getBoundingClientRect().width || !text.textContent.trim()) continue;
    text.scrollIntoView({block: "center", inline: "center"});  // hit-testing sees the viewport
    const box = text.getBoundingClientRect();
    const style = getComputedStyle(text);
    const ink = rgba(style.fill);
    if (!ink) continue;
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    const shapes = document.elementsFromPoint(x, y)
      .filter((el) => el !== text && el instanceof SVGGeometryElement && text.ownerSVGElement.contains(el))
      .reverse();  // bottom first
    let back = [255, 255, 255];
    for (const shape of shapes) {
      const shapeStyle = getComputedStyle(shape);
      const fill = rgba(shapeStyle.fill);
      if (!fill || shapeStyle.fill === "none") continue;
      const alpha = (fill[3] ?? 1) * Number(shapeStyle.fillOpacity) * Number(shapeStyle.opacity);
      back = back.map((c, i) => alpha * fill[i] + (1 - alpha) * c);
    }
    const [a, b] = [luminance(ink), luminance(back)];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) found.push(`${path(text)} "${text.textContent.trim()}" ${ratio.toFixed(2)}:1`);
  }
  window.scrollTo(0, 0);
  return found;
}
