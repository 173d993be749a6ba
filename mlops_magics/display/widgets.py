"""ipywidgets views of cards: composed widgets, no custom JavaScript. Imported only in a live kernel."""

from __future__ import annotations

import ipywidgets as w


class CardView(w.VBox):
    """A card as a widget: the card's HTML, plus a collapsible text view for copying."""

    def __init__(self, card, **kwargs):
        self.card = card
        self._body = w.HTML(value=card.to_html())
        self._body.add_class(f"mlops-widget-{card.kind}")
        self._text = w.Textarea(value=card.to_text(), layout=w.Layout(width="100%", height="8em"))
        self._details = w.Accordion(children=[self._text], titles=("as text",), selected_index=None)
        super().__init__(children=[self._body, self._details], **kwargs)
        self.add_class("mlops-widget")
