// The HTML frame shared by the timeline, the entity page and the charts. See html.h.

#include "viz/html.h"

#include <cmath>

#include <fmt/format.h>

namespace aether::viz::html {

namespace {

constexpr const char* kStyle = R"(<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 20px; margin: 0 0 6px 0; } h2 { font-size: 16px; margin: 18px 0 6px 0; }
p, li { font-size: 13px; line-height: 1.45; max-width: 1100px; }
table { border-collapse: collapse; font-size: 12px; } td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; }
.zoom { border: 1px solid #ccc; cursor: grab; background: #fff; }
.bar { position: sticky; top: 0; background: #fafafa; border: 1px solid #ddd; padding: 4px 8px; font-size: 13px; z-index: 2; }
.bar button { margin-right: 4px; }
#info { font-family: monospace; margin-left: 12px; }
svg text { font-family: Helvetica, Arial, sans-serif; }
pre { font-size: 12px; }
</style>
)";

// Wheel or buttons zoom around the pointer (or the centre); drag pans; hovering an element with a
// <title> shows that title in #info. No library, nothing downloaded.
constexpr const char* kScript = R"(<script>
(function () {
  function setup(svg) {
    var vb = svg.viewBox.baseVal, home = [vb.x, vb.y, vb.width, vb.height];
    function zoom(f, cx, cy) {
      var nw = Math.min(home[2], vb.width * f), nh = Math.min(home[3], vb.height * f);
      vb.x = cx - (cx - vb.x) * nw / vb.width; vb.y = cy - (cy - vb.y) * nh / vb.height;
      vb.width = nw; vb.height = nh;
    }
    function toSvg(e) {
      var r = svg.getBoundingClientRect();
      return [vb.x + (e.clientX - r.left) / r.width * vb.width, vb.y + (e.clientY - r.top) / r.height * vb.height];
    }
    svg.addEventListener('wheel', function (e) { e.preventDefault(); var p = toSvg(e); zoom(e.deltaY < 0 ? 0.8 : 1.25, p[0], p[1]); });
    var drag = null;
    svg.addEventListener('mousedown', function (e) { drag = [e.clientX, e.clientY, vb.x, vb.y]; svg.style.cursor = 'grabbing'; });
    window.addEventListener('mouseup', function () { drag = null; svg.style.cursor = 'grab'; });
    svg.addEventListener('mousemove', function (e) {
      if (!drag) return;
      var r = svg.getBoundingClientRect();
      vb.x = drag[2] - (e.clientX - drag[0]) / r.width * vb.width; vb.y = drag[3] - (e.clientY - drag[1]) / r.height * vb.height;
    });
    svg.addEventListener('mouseover', function (e) {
      var t = e.target.querySelector ? e.target.querySelector('title') : null;
      if (!t && e.target.parentNode && e.target.parentNode.querySelector) t = e.target.parentNode.querySelector(':scope > title');
      var info = document.getElementById('info');
      if (info && t) info.textContent = t.textContent;
    });
    var bar = document.querySelector('[data-for="' + svg.id + '"]');
    if (bar) {
      bar.querySelector('.in').onclick = function () { zoom(0.5, vb.x + vb.width / 2, vb.y + vb.height / 2); };
      bar.querySelector('.out').onclick = function () { zoom(2, vb.x + vb.width / 2, vb.y + vb.height / 2); };
      bar.querySelector('.reset').onclick = function () { vb.x = home[0]; vb.y = home[1]; vb.width = home[2]; vb.height = home[3]; };
    }
  }
  document.querySelectorAll('svg.zoom').forEach(setup);
})();
</script>
)";

}  // namespace

std::string page_begin(const std::string& title) {
  return fmt::format("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n{}</head><body>\n<h1>{}</h1>\n",
                     xml_escape(title), kStyle, xml_escape(title));
}

std::string page_end() { return std::string(kScript) + "</body></html>\n"; }

std::string zoomable_svg_begin(int width, int height, const std::string& id) {
  return fmt::format(
      "<div class=\"bar\" data-for=\"{0}\"><button class=\"in\">zoom in</button><button class=\"out\">zoom out</button>"
      "<button class=\"reset\">reset</button> wheel: zoom, drag: pan, hover: details<span id=\"info\"></span></div>\n"
      "<svg id=\"{0}\" class=\"zoom\" xmlns=\"http://www.w3.org/2000/svg\" width=\"100%\" viewBox=\"0 0 {1} {2}\" "
      "preserveAspectRatio=\"xMinYMin meet\">\n",
      xml_escape(id), width, height);
}

std::string zoomable_svg_end() { return "</svg>\n"; }

std::string time_axis(const Run& run, TimeNs t0, TimeNs t1, double x0, double x1, double axis_y, double grid_top) {
  std::string out;
  const double span_s = static_cast<double>(t1 - t0) / kNsPerSec;
  // A step of 1, 2 or 5 times a power of ten giving about ten ticks.
  double step = 1e-3;
  for (double base : {1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0}) {
    for (double m : {1.0, 2.0, 5.0}) {
      if (span_s / (base * m) <= 12) {
        step = base * m;
        goto found;
      }
    }
  }
  step = std::max(1.0, std::ceil(span_s / 10));
found:
  const double first = std::ceil(static_cast<double>(t0 - run.begin_ns) / kNsPerSec / step) * step;
  for (int i = 0; i < 200; ++i) {  // bounded: ~12 in practice
    const double s = first + i * step;
    const TimeNs t = run.begin_ns + static_cast<TimeNs>(s * kNsPerSec);
    if (t > t1) break;
    const double x = x_of(t, t0, t1, x0, x1);
    out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#eee\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3:.1f}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">{4:g} s</text>\n",
                       x, grid_top, axis_y, axis_y + 14, s);
  }
  return out;
}

}  // namespace aether::viz::html
