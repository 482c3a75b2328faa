#pragma once
// Pieces shared by the HTML renderers: the page frame (inline CSS, the zoom and hover script), the
// time axis. Nothing is fetched from anywhere: the files open offline.

#include <string>

#include "viz/model.h"

namespace aether::viz::html {

// <!DOCTYPE html> ... <body> with the title and the shared style and script.
std::string page_begin(const std::string& title);
std::string page_end();

// An <svg> that zooms with the wheel or the buttons and pans by dragging, and shows the <title> of
// whatever is under the pointer in a fixed info line.
std::string zoomable_svg_begin(int width, int height, const std::string& id);
std::string zoomable_svg_end();

// Time axis ticks along y = axis_y for [t0, t1] mapped to [x0, x1].
std::string time_axis(const Run& run, TimeNs t0, TimeNs t1, double x0, double x1, double axis_y, double grid_top);

// x for time t.
inline double x_of(TimeNs t, TimeNs t0, TimeNs t1, double x0, double x1) {
  if (t1 <= t0) return x0;
  return x0 + (x1 - x0) * static_cast<double>(t - t0) / static_cast<double>(t1 - t0);
}

}  // namespace aether::viz::html
