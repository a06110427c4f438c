"""The rating page (Jinja template). No model names can reach it: it only receives opaque ids.
It shows the configured rubric (`rubric`, from score.human.rubric), which each vote then stores."""

DIMENSIONS = ("prompt_alignment", "photorealism", "fidelity", "artefacts", "overall")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sentinel rating</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}
 .pair{display:flex;gap:1rem}.pair figure{flex:1;margin:0;text-align:center}
 img{width:100%;max-width:28rem;image-rendering:auto;border:1px solid #888}
 button{font-size:1.1rem;padding:.6rem 1.2rem;margin:.3rem}
 button:focus,select:focus{outline:3px solid #1a5fb4}
 fieldset{border:1px solid #ccc;margin-top:.5rem}
</style></head><body>
<main>
{% if done %}
<h1>All done — thank you</h1>
<p id="progress">Completed {{ n_done }} of {{ n_total }}.</p>
{% else %}
<h1>Which image is better for the prompt?</h1>
<p><label for="bar">Progress:</label> <progress id="bar" max="{{ n_total }}" value="{{ n_done }}"></progress>
 <span id="progress">{{ n_done + 1 }} of {{ n_total }}</span></p>
<p id="prompt"><strong>Prompt:</strong> {{ prompt }}</p>
<p>Keys: <kbd>1</kbd> or <kbd>&larr;</kbd> left is better, <kbd>2</kbd> or <kbd>&darr;</kbd> tie,
 <kbd>3</kbd> or <kbd>&rarr;</kbd> right is better. Rubric: <span id="rubric">{{ rubric }}</span>.</p>
<form method="post" action="/rate" id="form">
<input type="hidden" name="t" value="{{ token }}"><input type="hidden" name="task" value="{{ task }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<div class="pair">
{% for side in ("left", "right") %}
<figure><img src="/img/{{ images[side] }}?t={{ token }}" alt="{{ side }} image" id="img-{{ side }}">
<figcaption>{{ side|capitalize }}</figcaption>
<fieldset><legend>Optional ratings, {{ side }} image (1 worst – 5 best)</legend>
{% for dim in dimensions %}
<label>{{ dim.replace("_", " ") }}
<select name="likert_{{ side }}_{{ dim }}"><option value="">–</option>
{% for v in range(1, 6) %}<option value="{{ v }}">{{ v }}</option>{% endfor %}</select></label><br>
{% endfor %}</fieldset></figure>
{% endfor %}
</div>
<p><button type="submit" name="choice" value="left" id="choice-left" accesskey="1">Left is better (1)</button>
<button type="submit" name="choice" value="tie" id="choice-tie" accesskey="2">Tie (2)</button>
<button type="submit" name="choice" value="right" id="choice-right" accesskey="3">Right is better (3)</button></p>
</form>
<script nonce="{{ nonce }}">
document.addEventListener("keydown", function (e) {
  if (e.target.tagName === "SELECT" || e.altKey || e.ctrlKey || e.metaKey) { return; }
  var map = {"1": "left", "ArrowLeft": "left", "2": "tie", "ArrowDown": "tie", "3": "right", "ArrowRight": "right"};
  if (map[e.key]) { e.preventDefault(); document.getElementById("choice-" + map[e.key]).click(); }
});
</script>
{% endif %}
</main></body></html>
"""
