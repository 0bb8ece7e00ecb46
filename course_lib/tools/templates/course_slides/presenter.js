// A small offline slide presenter for nbconvert's reveal markup:
//   div.slides > section (a slide) > section (a sub-slide) > div.fragment (shown in turn)
// Right / Space / PageDown: next fragment or sub-slide; Left / PageUp: back;
// Down / Up: next / previous sub-slide; Home / End. The URL hash (#/3) keeps the place.
//
// Everything stays inside the slide: once the page (and its figures) has loaded, each
// sub-slide is measured; one taller than the screen is split before the first cell that
// does not fit (the rest goes on a "continued" sub-slide, its first cell shown at once), and a
// single cell still too tall is scaled down to fit (long code and output scroll inside their
// own boxes, see slides.css). Resizing the window lays the slides out again.
// window.coursePresenter (go, count, fits) is for tests and scripts.
(function () {
  "use strict";
  var MIN_ZOOM = 0.5;
  var container = document.querySelector(".slides");
  if (!container) return;
  var original = container.innerHTML;
  var counter = document.querySelector(".slide-counter");
  var bar = document.querySelector(".slide-progress span");
  var slides = [];
  var pages = [];
  var page = 0;
  var shown = 0; // fragments visible on the current page

  function collect() {
    slides = Array.prototype.slice.call(container.querySelectorAll(":scope > section"));
    pages = [];
    slides.forEach(function (slide) {
      var subs = slide.querySelectorAll(":scope > section");
      (subs.length ? Array.prototype.slice.call(subs) : [slide]).forEach(function (sub) {
        pages.push({ slide: slide, sub: sub, fragments: sub.querySelectorAll(".fragment") });
      });
    });
  }

  function render() {
    if (!pages.length) return;
    pages.forEach(function (p, i) {
      p.sub.classList.toggle("present", i === page);
    });
    slides.forEach(function (slide) {
      slide.classList.toggle("present", slide === pages[page].slide);
    });
    var fragments = pages[page].fragments;
    for (var j = 0; j < fragments.length; j++) {
      fragments[j].classList.toggle("visible", j < shown);
    }
    if (counter) counter.textContent = page + 1 + " / " + pages.length;
    if (bar) bar.style.width = (100 * (page + 1)) / pages.length + "%";
    document.body.setAttribute("data-slide", String(page));
    document.body.setAttribute("data-fragment", String(shown));
    if (window.location.hash !== "#/" + page) {
      window.history.replaceState(null, "", "#/" + page);
    }
  }
  function go(target, fragmentsShown) {
    if (!pages.length) return;
    page = Math.max(0, Math.min(pages.length - 1, target));
    var total = pages[page].fragments.length;
    shown = fragmentsShown === "all" ? total : Math.min(total, fragmentsShown || 0);
    pages[page].sub.scrollTop = 0;
    render();
  }
  function next() {
    if (shown < pages[page].fragments.length) {
      shown += 1;
      render();
    } else if (page < pages.length - 1) {
      go(page + 1, 0);
    }
  }
  function previous() {
    if (shown > 0) {
      shown -= 1;
      render();
    } else if (page > 0) {
      go(page - 1, "all");
    }
  }

  // -- fitting each sub-slide to the screen ----------------------------------------------------
  function room(sub) {
    var style = window.getComputedStyle(sub);
    return sub.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  }
  function contentHeight(sub) {
    var style = window.getComputedStyle(sub);
    return sub.scrollHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  }
  function fits(sub) {
    return sub.scrollHeight <= sub.clientHeight + 1;
  }
  // The index of the first of ``elements`` whose bottom falls below the room of ``sub``, or -1.
  function firstOverflowing(sub, elements) {
    var top = sub.getBoundingClientRect().top + parseFloat(window.getComputedStyle(sub).paddingTop);
    var limit = top + room(sub);
    for (var i = 0; i < elements.length; i++) {
      if (elements[i].getBoundingClientRect().bottom > limit + 1) return i;
    }
    return -1;
  }
  function removeAll(elements) {
    Array.prototype.slice.call(elements).forEach(function (element) {
      element.remove();
    });
  }
  // A Markdown cell too tall for any slide, cut between its blocks (paragraphs, lists,
  // tables), or between the items of a first list too long alone: the cell keeps what fits,
  // the returned copy the rest.
  function splitMarkdown(cell, sub) {
    var blocks = cell.querySelector(".jp-RenderedMarkdown");
    if (!blocks) return null;
    var at = firstOverflowing(sub, blocks.children);
    var item = -1;
    if (at === 0) {
      if (!/^(UL|OL)$/.test(blocks.children[0].tagName)) return null;
      item = firstOverflowing(sub, blocks.children[0].children);
      if (item < 1) return null;
    } else if (at < 1) {
      return null;
    }
    var copy = cell.cloneNode(true);
    copy.removeAttribute("id");
    var copied = copy.querySelector(".jp-RenderedMarkdown");
    if (item >= 1) {
      var list = blocks.children[0];
      var copiedList = copied.children[0];
      removeAll(Array.prototype.slice.call(list.children, item));
      removeAll(Array.prototype.slice.call(copiedList.children, 0, item));
      if (list.tagName === "OL") {
        var first = parseInt(list.getAttribute("start") || "1", 10);
        copiedList.setAttribute("start", String(first + item));
      }
      removeAll(Array.prototype.slice.call(blocks.children, 1));
    } else {
      removeAll(Array.prototype.slice.call(copied.children, 0, at));
      removeAll(Array.prototype.slice.call(blocks.children, at));
    }
    return copy;
  }
  // A code cell (or the fragment holding it) too tall for any slide with its output: the
  // code stays, the returned copy shows the output on the next sub-slide.
  function splitCode(element) {
    var cell = element.classList.contains("jp-CodeCell")
      ? element
      : element.querySelector(".jp-CodeCell");
    if (!cell || !cell.querySelector(".jp-Cell-outputWrapper")) return null;
    if (!cell.querySelector(".jp-Cell-inputWrapper")) return null;
    var copy = element.cloneNode(true);
    if (copy.id) copy.removeAttribute("id");
    var copiedCell = copy.classList.contains("jp-CodeCell") ? copy : copy.querySelector(".jp-CodeCell");
    copiedCell.removeAttribute("id");
    copiedCell.querySelector(".jp-Cell-inputWrapper").remove();
    cell.querySelector(".jp-Cell-outputWrapper").remove();
    copy.classList.add("slide-output-only");
    return copy;
  }
  // Move what does not fit on page ``index`` to a new sub-slide after it; false if nothing can
  // move (one cell that is not Markdown fills the slide).
  function split(index) {
    var sub = pages[index].sub;
    if (sub === pages[index].slide) return false;
    var children = Array.prototype.slice.call(sub.children);
    var at = firstOverflowing(sub, children);
    var moved;
    if (at >= 1) {
      moved = children.slice(at);
    } else if (at === 0) {
      // the first cell alone is too tall: cut it if it is Markdown, else it stays alone
      var markdown = children[0].classList.contains("jp-MarkdownCell");
      var rest = markdown ? splitMarkdown(children[0], sub) : splitCode(children[0]);
      moved = rest ? [rest].concat(children.slice(1)) : children.slice(1);
      if (!moved.length) return false;
    } else {
      return false;
    }
    var next = document.createElement("section");
    next.className = "continued";
    moved.forEach(function (child) {
      next.appendChild(child);
    });
    // the continuation shows its first cell at once (no empty slide)
    moved[0].classList.remove("fragment");
    sub.parentNode.insertBefore(next, sub.nextSibling);
    return true;
  }
  function zoomToFit(sub) {
    var children = Array.prototype.slice.call(sub.children);
    var scale = Math.max(MIN_ZOOM, room(sub) / contentHeight(sub));
    for (var step = 0; step < 6 && !fits(sub); step++) {
      children.forEach(function (child) {
        child.style.zoom = String(scale);
      });
      if (fits(sub) || scale <= MIN_ZOOM) break;
      scale = Math.max(MIN_ZOOM, scale * Math.min(0.97, room(sub) / contentHeight(sub)));
    }
    sub.setAttribute("data-zoom", scale.toFixed(2));
  }
  // Lay every sub-slide out again from the original markup, once its figures are decoded
  // (their sizes decide what fits); then ``done``.
  function layout(done) {
    container.innerHTML = original;
    collect();
    var images = Array.prototype.slice.call(container.querySelectorAll("img"));
    var decoded = images.map(function (image) {
      return image.decode ? image.decode().catch(function () {}) : Promise.resolve();
    });
    Promise.all(decoded).then(function () {
      for (var i = 0; i < pages.length; i++) {
        go(i, "all");
        if (fits(pages[i].sub)) continue;
        if (split(i)) {
          collect();
          go(i, "all");
        }
        if (!fits(pages[i].sub)) zoomToFit(pages[i].sub);
      }
      done();
      document.body.setAttribute("data-layout", "done");
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var actions = {
      ArrowRight: next, " ": next, PageDown: next, n: next,
      ArrowLeft: previous, PageUp: previous, p: previous, Backspace: previous,
      ArrowDown: function () { go(page + 1, 0); },
      ArrowUp: function () { go(page - 1, 0); },
      Home: function () { go(0, 0); },
      End: function () { go(pages.length - 1, "all"); }
    };
    var action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
  var nextButton = document.querySelector(".slide-next");
  var prevButton = document.querySelector(".slide-prev");
  if (nextButton) nextButton.addEventListener("click", next);
  if (prevButton) prevButton.addEventListener("click", previous);

  function relayout() {
    var place = page;
    var fragmentsShown = shown;
    document.body.removeAttribute("data-layout");
    layout(function () {
      go(place, fragmentsShown);
    });
  }
  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(relayout, 150);
  });
  window.coursePresenter = {
    go: go,
    count: function () { return pages.length; },
    fits: function (index) { return fits(pages[index].sub); },
    relayout: relayout
  };

  collect();
  var start = /^#\/(\d+)/.exec(window.location.hash);
  page = start ? parseInt(start[1], 10) : 0;
  go(page, 0);
  if (document.readyState === "complete") relayout();
  else window.addEventListener("load", relayout);
})();
