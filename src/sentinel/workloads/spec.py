"""What the workload generator samples from: the distributions the data card states (workloads/DATACARD.md).

Pure data. Changing any distribution, phrase or template changes the generated workloads: bump
VERSION and add a line to workloads/CHANGELOG.md. Shares in each table sum to 1.
Per category, `ATTRIBUTES[category][attribute]` maps each value to its share, and `PHRASES` maps a value
to the words it puts into the prompt (values that are their own words are left out).
"""
from __future__ import annotations

VERSION = "1.0.0"

CATEGORY_SHARES = {"corporate_headshot": 0.5, "ecommerce_product": 0.3, "creative_portrait": 0.2}

ATTRIBUTES: dict[str, dict[str, dict[str, float]]] = {
    "corporate_headshot": {
        "age_band": {"18-24": 0.12, "25-34": 0.30, "35-44": 0.25, "45-54": 0.17, "55-64": 0.10, "65+": 0.06},
        "gender_presentation": {"feminine": 0.46, "masculine": 0.46, "androgynous": 0.08},
        # Monk Skin Tone scale, 1 (lightest) to 10 (deepest): uniform by design, so every tone has n.
        "monk_skin_tone": {str(i): 0.1 for i in range(1, 11)},
        "attire": {"dark suit": 0.25, "blazer": 0.25, "button-down shirt": 0.20, "knit sweater": 0.12,
                   "medical scrubs": 0.06, "headscarf and blazer": 0.06, "turtleneck": 0.06},
        "background": {"grey studio backdrop": 0.35, "white backdrop": 0.25, "blurred office": 0.20,
                       "blurred outdoor greenery": 0.12, "brand-colour backdrop": 0.08},
        "lighting": {"soft studio light": 0.40, "natural window light": 0.25, "Rembrandt lighting": 0.12,
                     "high-key lighting": 0.15, "golden hour light": 0.08},
    },
    "ecommerce_product": {
        "product_type": {"sneaker": 0.16, "handbag": 0.14, "wristwatch": 0.10, "coffee mug": 0.10,
                         "skincare bottle": 0.14, "headphones": 0.10, "armchair": 0.08, "necklace": 0.10,
                         "table lamp": 0.08},
        "background": {"pure white background": 0.45, "marble surface": 0.15, "lifestyle kitchen scene": 0.12,
                       "soft gradient backdrop": 0.18, "outdoor scene": 0.10},
        "angle": {"front view": 0.30, "three-quarter view": 0.30, "top-down flat lay": 0.15,
                  "side profile": 0.15, "macro close-up": 0.10},
    },
    "creative_portrait": {
        "style": {"cinematic": 0.25, "fine art": 0.20, "fantasy": 0.15, "cyberpunk": 0.12,
                  "vintage film": 0.15, "minimalist": 0.13},
        "medium": {"photograph": 0.40, "oil painting": 0.15, "watercolour": 0.12, "digital illustration": 0.18,
                   "charcoal sketch": 0.07, "3D render": 0.08},
        "mood": {"serene": 0.25, "dramatic": 0.25, "joyful": 0.20, "melancholic": 0.15, "mysterious": 0.15},
    },
}

# Attributes drawn conditionally on an earlier one: attribute -> (given, {given value: {value: share}}).
CONDITIONAL = {
    "ecommerce_product": {
        "material": ("product_type", {
            "sneaker": {"leather": 0.5, "cotton fabric": 0.3, "matte plastic": 0.2},
            "handbag": {"leather": 0.7, "cotton fabric": 0.3},
            "wristwatch": {"stainless steel": 0.6, "leather": 0.25, "matte plastic": 0.15},
            "coffee mug": {"ceramic": 0.7, "glass": 0.15, "stainless steel": 0.15},
            "skincare bottle": {"glass": 0.6, "matte plastic": 0.4},
            "headphones": {"matte plastic": 0.6, "leather": 0.2, "stainless steel": 0.2},
            "armchair": {"oak wood": 0.4, "leather": 0.3, "cotton fabric": 0.3},
            "necklace": {"stainless steel": 0.5, "glass": 0.2, "ceramic": 0.3},
            "table lamp": {"ceramic": 0.35, "glass": 0.3, "oak wood": 0.2, "stainless steel": 0.15},
        }),
    },
}

# Attributes derived from a sampled one (never sampled themselves): attribute -> (source, value -> band).
DERIVED = {
    "corporate_headshot": {
        "skin_tone_band": ("monk_skin_tone", {**{str(i): "MST 1-3" for i in (1, 2, 3)},
                                              **{str(i): "MST 4-7" for i in (4, 5, 6, 7)},
                                              **{str(i): "MST 8-10" for i in (8, 9, 10)}}),
    },
}

PHRASES = {
    "age_band": {"18-24": "21-year-old", "25-34": "30-year-old", "35-44": "40-year-old", "45-54": "50-year-old",
                 "55-64": "60-year-old", "65+": "70-year-old"},
    "gender_presentation": {"feminine": "woman", "masculine": "man", "androgynous": "person"},
    "attire": {"dark suit": "a dark suit", "blazer": "a blazer", "button-down shirt": "a button-down shirt",
               "knit sweater": "a knit sweater", "headscarf and blazer": "a headscarf and a blazer",
               "turtleneck": "a turtleneck"},
    "monk_skin_tone": {"1": "very fair", "2": "fair", "3": "light", "4": "light olive", "5": "medium",
                       "6": "olive", "7": "tan", "8": "brown", "9": "dark brown", "10": "deep brown"},
}

TEMPLATES = {
    "corporate_headshot": "{opener} of a {age_band} {gender_presentation} with {monk_skin_tone} skin, wearing "
                          "{attire}, {background}, {lighting}",
    "ecommerce_product": "{opener} of a {material} {product_type}, {angle}, {background}",
    "creative_portrait": "{mood} {style} portrait of {subject}, {medium}",
}

OPENERS = {
    "corporate_headshot": ["professional corporate headshot", "LinkedIn profile photo", "executive portrait",
                           "team page headshot", "company website headshot"],
    "ecommerce_product": ["e-commerce product photo", "catalogue product shot", "studio product photograph",
                          "marketplace listing photo"],
    "creative_portrait": [""],
}

SUBJECTS = ["a violinist", "an old fisherman", "a young dancer", "a woman with freckles", "a man with a beard",
            "an astronaut", "a child holding a lantern", "a chef", "a painter in her studio", "twin sisters",
            "a skateboarder", "a grandmother"]

# Extra clauses users add; how many a prompt gets sets the prompt-length distribution.
DETAILS = {
    "corporate_headshot": ["shallow depth of field", "sharp focus on the eyes", "natural skin texture",
                           "confident friendly smile", "shot on an 85mm lens at f/2.8", "head and shoulders framing",
                           "looking straight at the camera", "subtle retouching",
                           "consistent with the rest of the team page",
                           "photorealistic, high resolution", "no jewellery", "hair neatly styled",
                           "colour graded to match our brand palette", "centred composition with room above the head"],
    "ecommerce_product": ["soft box lighting", "crisp shadows", "product centred in frame", "true-to-life colours",
                          "high detail on the texture", "reflection on the surface", "8k resolution",
                          "commercial advertising quality", "no props", "with a subtle drop shadow",
                          "consistent with an online store grid", "label facing the camera",
                          "studio lighting from the left", "photorealistic"],
    "creative_portrait": ["film grain", "bokeh background", "rim light", "dramatic shadows", "muted colour palette",
                          "vibrant colours", "highly detailed", "award-winning composition", "85mm lens",
                          "inspired by classical masters", "soft pastel tones", "volumetric light",
                          "intricate background patterns", "trending on art portfolios"],
}
DETAIL_COUNTS = {0: 0.22, 1: 0.22, 2: 0.18, 3: 0.12, 4: 0.08, 5: 0.06, 6: 0.04, 9: 0.05, 12: 0.03}

NEGATIVE_TERMS = {
    "corporate_headshot": ["blurry", "distorted face", "extra fingers", "cartoon", "harsh shadows", "watermark",
                           "plastic skin", "crossed eyes", "low quality"],
    "ecommerce_product": ["clutter", "text", "logo", "watermark", "fingerprints", "dust", "blurry", "low resolution",
                          "distorted shape"],
    "creative_portrait": ["deformed hands", "extra limbs", "oversaturated", "text", "frame", "blurry eyes",
                          "low quality", "bad anatomy"],
}
NEGATIVE_COUNTS = {0: 0.20, 1: 0.20, 2: 0.30, 3: 0.20, 5: 0.10}

# width x height per category: square, portrait and landscape aspects (multiples of 64).
SIZES = {
    "corporate_headshot": {"1024x1024": 0.50, "896x1152": 0.30, "832x1216": 0.20},
    "ecommerce_product": {"1024x1024": 0.60, "1152x896": 0.15, "896x1152": 0.15, "1216x832": 0.10},
    "creative_portrait": {"832x1216": 0.35, "1024x1024": 0.30, "768x1344": 0.15, "1344x768": 0.20},
}

# Named workloads. `category_counts` fixes the count per category (else quotas from CATEGORY_SHARES);
# `size_px` pins every job to one square size (the smoke suite's 64 px). Arrivals: a diurnal cycle of
# `day_s` seconds (peak at mid-day, trough/peak intensity ratio (1 - amplitude)/(1 + amplitude)) plus
# `bursts` episodes of `burst_s` seconds that add `burst_factor` times the mean diurnal rate, over `duration_s`.
# smoke's seed (17) is the first that gives its 4 headshots two gender presentations and all three skin-tone
# bands, and one prompt over 77 CLIP tokens, so the plumbing suite exercises the breakdown and truncation.
PROFILES = {
    "smoke": {"seed": 17, "n_jobs": 12, "category_counts": {c: 4 for c in CATEGORY_SHARES}, "size_px": 64,
              "steps": 4, "guidance": 5.0, "duration_s": 60.0, "day_s": 60.0, "amplitude": 0.6,
              "bursts": 1, "burst_s": 5.0, "burst_factor": 4.0},
    "2026-q4": {"seed": 20264, "n_jobs": 12000, "category_counts": None, "size_px": None,
                "steps": 30, "guidance": 5.0, "duration_s": 86400.0, "day_s": 86400.0, "amplitude": 0.6,
                "bursts": 12, "burst_s": 300.0, "burst_factor": 6.0},
}
