#!/usr/bin/python3
"""make_catalog.py — writes the starter catalog (products.csv, prices.csv) from the product
lines listed below. The model names are the brands' well-known line names; descriptions are
composed here from each line's attributes (written for this project, no copied product text).
SKUs are Rodeo's own; UPCs use the GS1 "2" prefix reserved for internal numbering, so they
cannot collide with real retail codes. Prices are realistic for the US market in 2025 but
are starter data, not quotes. Deterministic: run it again and the files do not change.

usage: make_catalog.py [OUTDIR]   (default: the directory of this script)
"""
import csv
import json
import os
import random
import sys

# (brand, model line, category, subcategory, msrp, attributes, keywords)
LINES = [
    # boots
    ("Ariat", "Heritage Roper", "boots", "roper", 159.95, {"material": "full-grain leather", "toe": "round", "heel": "low roper", "shaft_in": 10, "color": "distressed brown"}, "roper;work;everyday"),
    ("Ariat", "Sport Western", "boots", "cowboy", 169.95, {"material": "oiled leather", "toe": "wide square", "heel": "underslung", "shaft_in": 11, "color": "tan"}, "wide square toe;comfort"),
    ("Ariat", "WorkHog XT", "boots", "work", 229.95, {"material": "waterproof leather", "toe": "carbon composite", "heel": "block", "shaft_in": 11, "color": "bitter brown"}, "safety toe;waterproof;work"),
    ("Ariat", "Rambler", "boots", "cowboy", 179.95, {"material": "burnished leather", "toe": "medium round", "heel": "cutter", "shaft_in": 11, "color": "chocolate"}, "cutter heel;classic"),
    ("Ariat", "Fatbaby Heritage", "boots", "youth", 89.95, {"material": "leather", "toe": "round", "heel": "flat", "shaft_in": 7, "color": "powder brown"}, "kids;youth;toddler"),
    ("Ariat", "Heritage Western R-Toe", "boots", "cowboy", 169.95, {"material": "full-grain leather", "toe": "R-toe", "heel": "riding", "shaft_in": 12, "color": "black deertan"}, "riding;classic"),
    ("Justin", "Bent Rail Cowboy", "boots", "cowboy", 199.99, {"material": "cowhide", "toe": "broad square", "heel": "cowboy", "shaft_in": 13, "color": "cognac"}, "square toe;cushioned"),
    ("Justin", "Stampede Roper", "boots", "roper", 149.99, {"material": "leather", "toe": "round", "heel": "roper", "shaft_in": 10, "color": "brown"}, "roper;light"),
    ("Justin", "Pulley Work Boot", "boots", "work", 179.99, {"material": "waxy leather", "toe": "steel", "heel": "block", "shaft_in": 11, "color": "chestnut"}, "work;safety toe;pull-on"),
    ("Justin", "Classic Western", "boots", "cowboy", 219.99, {"material": "cowhide", "toe": "narrow round", "heel": "riding", "shaft_in": 13, "color": "black"}, "dress;classic"),
    ("Justin", "Gypsy Women's Square Toe", "boots", "womens", 149.99, {"material": "leather", "toe": "square", "heel": "stacked", "shaft_in": 12, "color": "tan"}, "women;fashion"),
    ("Lucchese", "Classics Mad Dog Goat", "boots", "exotic", 549.00, {"material": "goat leather", "toe": "round", "heel": "walking", "shaft_in": 12, "color": "tan"}, "goat;handmade;premium"),
    ("Lucchese", "Handmade Caiman Belly", "boots", "exotic", 1395.00, {"material": "caiman belly", "toe": "medium round", "heel": "riding", "shaft_in": 12, "color": "barrel brown"}, "exotic;caiman;handmade"),
    ("Lucchese", "Bowman Roper", "boots", "roper", 445.00, {"material": "calf leather", "toe": "round", "heel": "roper", "shaft_in": 10, "color": "chocolate"}, "roper;dress"),
    ("Lucchese", "Rowdy Burnished Ostrich", "boots", "exotic", 895.00, {"material": "full-quill ostrich", "toe": "broad square", "heel": "cowboy", "shaft_in": 12, "color": "cognac"}, "ostrich;exotic"),
    ("Tony Lama", "3R Western", "boots", "cowboy", 189.99, {"material": "cowhide", "toe": "3R", "heel": "riding", "shaft_in": 12, "color": "tan"}, "classic;3R toe"),
    ("Tony Lama", "Americana Smooth Ostrich", "boots", "exotic", 479.99, {"material": "smooth ostrich", "toe": "square", "heel": "cowboy", "shaft_in": 12, "color": "kango"}, "ostrich;exotic"),
    ("Tony Lama", "Junction Work Boot", "boots", "work", 199.99, {"material": "leather", "toe": "composite", "heel": "block", "shaft_in": 11, "color": "brown"}, "work;safety toe"),
    ("Twisted X", "Men's Work Cellstretch", "boots", "work", 189.99, {"material": "leather", "toe": "round", "heel": "flat", "shaft_in": 11, "color": "oiled saddle"}, "work;comfort"),
    ("Durango", "Rebel Pull-On", "boots", "cowboy", 139.99, {"material": "leather", "toe": "square", "heel": "cowboy", "shaft_in": 12, "color": "coffee"}, "value;pull-on"),
    # hats
    ("Stetson", "Open Road", "hats", "felt", 225.00, {"material": "6X fur felt", "crown": "cattleman", "brim_in": 2.5, "color": "silverbelly"}, "classic;felt;dress"),
    ("Stetson", "Skyline 6X", "hats", "felt", 365.00, {"material": "6X fur felt", "crown": "cattleman", "brim_in": 4, "color": "black"}, "felt;premium"),
    ("Stetson", "El Patron 30X", "hats", "felt", 895.00, {"material": "30X fur felt", "crown": "cattleman", "brim_in": 4.25, "color": "silverbelly"}, "premium;dress"),
    ("Stetson", "Rancher Straw", "hats", "straw", 69.99, {"material": "shantung straw", "crown": "cattleman", "brim_in": 4, "color": "natural"}, "straw;summer"),
    ("Stetson", "Bryce Shantung", "hats", "straw", 89.99, {"material": "shantung straw", "crown": "pinch front", "brim_in": 3.5, "color": "natural"}, "straw"),
    ("Resistol", "Tuff Hedeman Pro Rodeo", "hats", "felt", 189.99, {"material": "6X fur felt", "crown": "cattleman", "brim_in": 4.25, "color": "black"}, "rodeo;felt"),
    ("Resistol", "City Limits 4X", "hats", "felt", 149.99, {"material": "4X wool blend", "crown": "cattleman", "brim_in": 4, "color": "chocolate"}, "felt;everyday"),
    ("Resistol", "Cody Johnson Punchy", "hats", "felt", 269.99, {"material": "4X fur felt", "crown": "punchy", "brim_in": 4.5, "color": "sand"}, "punchy;felt"),
    ("Resistol", "Ridge Straw", "hats", "straw", 64.99, {"material": "toyo straw", "crown": "cattleman", "brim_in": 4, "color": "white"}, "straw;summer"),
    ("American Hat Company", "7X Black Felt", "hats", "felt", 425.00, {"material": "7X fur felt", "crown": "cattleman", "brim_in": 4.25, "color": "black"}, "handmade;felt"),
    ("American Hat Company", "Rodeo King Palm", "hats", "straw", 79.99, {"material": "palm leaf", "crown": "cattleman", "brim_in": 4.25, "color": "natural"}, "palm;straw;durable"),
    ("Greeley Hat Works", "Custom Beaver Felt", "hats", "felt", 1150.00, {"material": "100% beaver felt", "crown": "custom", "brim_in": 4, "color": "buckskin"}, "custom;beaver;premium"),
    ("Serratelli", "Rancher 6X", "hats", "felt", 259.99, {"material": "6X fur felt", "crown": "rancher", "brim_in": 4, "color": "caramel"}, "felt"),
    ("Bailey", "Western Rider Straw", "hats", "straw", 59.99, {"material": "raffia straw", "crown": "cattleman", "brim_in": 4, "color": "tan"}, "straw;value"),
    ("Atwood Hat Co", "Hondo Palm", "hats", "straw", 89.99, {"material": "palm leaf", "crown": "cattleman", "brim_in": 4.25, "color": "natural"}, "palm;ranch"),
    ("Charlie 1 Horse", "Highway Felt", "hats", "felt", 129.99, {"material": "wool felt", "crown": "pinch front", "brim_in": 3.75, "color": "ivory"}, "fashion;felt"),
    # saddles
    ("Circle Y", "Flex2 Trail Saddle", "saddles", "trail", 2399.00, {"seat_in": 16, "tree": "Flex2", "weight_lb": 31, "leather": "walnut", "rigging": "in-skirt 7/8"}, "trail;flex tree;comfort"),
    ("Circle Y", "Cutter Flex2", "saddles", "cutting", 3299.00, {"seat_in": 16.5, "tree": "Flex2 cutter", "weight_lb": 36, "leather": "harness", "rigging": "in-skirt 7/8"}, "cutting;performance"),
    ("Circle Y", "Julie Barrel Saddle", "saddles", "barrel", 2699.00, {"seat_in": 14, "tree": "Flex2", "weight_lb": 26, "leather": "regular oil", "rigging": "in-skirt 3/4"}, "barrel racing;light"),
    ("Circle Y", "Ranch Roper", "saddles", "roping", 3499.00, {"seat_in": 15.5, "tree": "rawhide-covered", "weight_lb": 42, "leather": "chestnut", "rigging": "full double"}, "roping;ranch;heavy duty"),
    ("Martin Saddlery", "Stingray Barrel", "saddles", "barrel", 4995.00, {"seat_in": 14, "tree": "Martin barrel", "weight_lb": 24, "leather": "chocolate roughout", "rigging": "in-skirt"}, "barrel racing;premium"),
    ("Martin Saddlery", "Team Roper", "saddles", "roping", 5495.00, {"seat_in": 14.5, "tree": "rawhide bullhide", "weight_lb": 39, "leather": "natural", "rigging": "full double"}, "team roping;premium"),
    ("Billy Cook", "Classic Ranch Cutter", "saddles", "cutting", 2595.00, {"seat_in": 16, "tree": "wood rawhide", "weight_lb": 38, "leather": "walnut", "rigging": "in-skirt 7/8"}, "cutter;ranch"),
    ("Billy Cook", "Greenville Roper", "saddles", "roping", 2795.00, {"seat_in": 15, "tree": "roping", "weight_lb": 40, "leather": "oiled", "rigging": "full double"}, "roping"),
    ("Billy Cook", "Pleasure Trail", "saddles", "trail", 1895.00, {"seat_in": 16, "tree": "semi-QH", "weight_lb": 32, "leather": "light oil", "rigging": "in-skirt 7/8"}, "trail;pleasure"),
    ("Tucker", "Gen II Trail", "saddles", "trail", 2299.00, {"seat_in": 17, "tree": "Gen II", "weight_lb": 30, "leather": "chestnut", "rigging": "in-skirt"}, "trail;comfort;gaited"),
    ("Reinsman", "Trail Saddle Roughout", "saddles", "trail", 2150.00, {"seat_in": 16, "tree": "Tree Free", "weight_lb": 29, "leather": "roughout", "rigging": "in-skirt 7/8"}, "trail"),
    ("Cashel", "Tail Rider Pad Saddle", "saddles", "endurance", 649.00, {"seat_in": 16, "tree": "treeless", "weight_lb": 12, "leather": "synthetic", "rigging": "center"}, "treeless;light"),
    ("Double T", "Barrel Saddle Floral", "saddles", "barrel", 699.00, {"seat_in": 14, "tree": "wood fiberglass", "weight_lb": 27, "leather": "dark oil", "rigging": "in-skirt"}, "barrel;value"),
    ("Circle Y", "Youth Pony Saddle", "saddles", "youth", 899.00, {"seat_in": 12, "tree": "pony", "weight_lb": 18, "leather": "regular oil", "rigging": "in-skirt"}, "youth;pony"),
    ("Martin Saddlery", "Stingray Ranch", "saddles", "ranch", 5295.00, {"seat_in": 16, "tree": "ranch", "weight_lb": 41, "leather": "chocolate", "rigging": "full double"}, "ranch;premium"),
    ("Billy Cook", "Wade Ranch", "saddles", "ranch", 2995.00, {"seat_in": 16, "tree": "wade", "weight_lb": 44, "leather": "natural", "rigging": "7/8 flat plate"}, "wade;ranch"),
    # belts
    ("Nocona", "Basketweave Belt", "belts", "western", 49.99, {"material": "leather", "width_in": 1.5, "tooling": "basketweave", "color": "brown"}, "basketweave;tooled"),
    ("Nocona", "Rhinestone Cross Belt", "belts", "womens", 59.99, {"material": "leather", "width_in": 1.5, "tooling": "rhinestone conchos", "color": "black"}, "rhinestone;women"),
    ("Justin", "Floral Tooled Belt", "belts", "western", 64.99, {"material": "leather", "width_in": 1.5, "tooling": "floral", "color": "tan"}, "floral;tooled"),
    ("Ariat", "Diamond Concho Belt", "belts", "western", 54.95, {"material": "leather", "width_in": 1.5, "tooling": "diamond conchos", "color": "brown"}, "conchos"),
    ("Ariat", "Work Belt Heavy Duty", "belts", "work", 44.95, {"material": "bridle leather", "width_in": 1.75, "tooling": "plain", "color": "black"}, "work;heavy duty"),
    ("Tony Lama", "Lizard Print Belt", "belts", "exotic", 79.99, {"material": "lizard-print leather", "width_in": 1.5, "tooling": "printed", "color": "brown"}, "lizard print"),
    ("Leegin", "Ranger Belt", "belts", "western", 89.99, {"material": "leather", "width_in": 1.25, "tooling": "ranger tapered", "color": "black"}, "ranger;dress"),
    ("Brighton", "Concho Charm Belt", "belts", "womens", 99.00, {"material": "leather", "width_in": 1.25, "tooling": "silver conchos", "color": "tan"}, "women;conchos"),
    ("3D Belt Co", "Embossed Stitch Belt", "belts", "western", 34.99, {"material": "leather", "width_in": 1.5, "tooling": "embossed", "color": "brown"}, "value;embossed"),
    ("Twisted X", "Braided Belt", "belts", "casual", 39.99, {"material": "braided leather", "width_in": 1.5, "tooling": "braided", "color": "tan"}, "braided"),
    ("Lucchese", "Ostrich Belt", "belts", "exotic", 295.00, {"material": "full-quill ostrich", "width_in": 1.5, "tooling": "none", "color": "cognac"}, "ostrich;exotic"),
    ("M&F Western", "Kids Tooled Belt", "belts", "youth", 24.99, {"material": "leather", "width_in": 1.0, "tooling": "floral", "color": "brown"}, "kids"),
    ("Cinch", "Stitched Leather Belt", "belts", "western", 42.99, {"material": "leather", "width_in": 1.5, "tooling": "contrast stitching", "color": "black"}, "stitched"),
    ("Wrangler", "Reversible Belt", "belts", "casual", 29.99, {"material": "leather", "width_in": 1.5, "tooling": "plain", "color": "black/brown"}, "reversible;value"),
    ("Justin", "Bull Rider Belt", "belts", "western", 69.99, {"material": "leather", "width_in": 1.5, "tooling": "tooled with laced edge", "color": "dark brown"}, "rodeo;laced"),
    ("Double J Saddlery", "Handtooled Belt", "belts", "western", 189.00, {"material": "harness leather", "width_in": 1.5, "tooling": "hand-carved floral", "color": "chestnut"}, "handmade;premium"),
    # buckles
    ("Montana Silversmiths", "Classic Western Buckle", "buckles", "western", 69.99, {"finish": "bright silver", "shape": "oval", "size_in": "3.25x2.5", "motif": "scrollwork"}, "silver;classic"),
    ("Montana Silversmiths", "Rodeo Champion Buckle", "buckles", "trophy", 149.99, {"finish": "silver with gold", "shape": "rectangle", "size_in": "4x3", "motif": "bronc rider"}, "trophy;rodeo"),
    ("Montana Silversmiths", "Cross Attitude Buckle", "buckles", "attitude", 44.99, {"finish": "antiqued silver", "shape": "oval", "size_in": "3x2.25", "motif": "cross"}, "cross;faith"),
    ("Montana Silversmiths", "Team Roper Buckle", "buckles", "trophy", 129.99, {"finish": "silver with gold", "shape": "oval", "size_in": "3.75x2.75", "motif": "team ropers"}, "roping;trophy"),
    ("Montana Silversmiths", "Longhorn Buckle", "buckles", "western", 59.99, {"finish": "two-tone", "shape": "oval", "size_in": "3.5x2.5", "motif": "longhorn"}, "longhorn"),
    ("Montana Silversmiths", "American Flag Buckle", "buckles", "attitude", 54.99, {"finish": "painted silver", "shape": "rectangle", "size_in": "3.25x2.25", "motif": "flag"}, "flag;patriotic"),
    ("Nocona", "Turquoise Stone Buckle", "buckles", "western", 49.99, {"finish": "silver", "shape": "oval", "size_in": "3x2", "motif": "turquoise stone"}, "turquoise"),
    ("Nocona", "Star Buckle", "buckles", "western", 39.99, {"finish": "antiqued", "shape": "round", "size_in": "2.75", "motif": "Texas star"}, "star;Texas"),
    ("AndWest", "Silverado Buckle", "buckles", "western", 64.99, {"finish": "silver", "shape": "oval", "size_in": "3.25x2.5", "motif": "horseshoe"}, "horseshoe"),
    ("Comstock Heritage", "Ranger Buckle Set", "buckles", "ranger", 495.00, {"finish": "sterling silver", "shape": "rectangle", "size_in": "1.25", "motif": "engraved"}, "sterling;ranger;premium"),
    ("Vogt Silversmiths", "Trophy Buckle Custom", "buckles", "trophy", 650.00, {"finish": "sterling with gold", "shape": "oval", "size_in": "4x3", "motif": "custom lettering"}, "custom;trophy;premium"),
    ("Crumrine", "Buck Stitch Buckle", "buckles", "western", 45.99, {"finish": "silver plated", "shape": "rectangle", "size_in": "3x2", "motif": "buck stitch"}, "value"),
    ("M&F Western", "Boot Stitch Buckle", "buckles", "western", 29.99, {"finish": "antiqued brass", "shape": "oval", "size_in": "3x2.25", "motif": "boot stitch"}, "value"),
    ("Montana Silversmiths", "Barrel Racer Buckle", "buckles", "trophy", 139.99, {"finish": "silver with gold", "shape": "oval", "size_in": "3.75x2.75", "motif": "barrel racer"}, "barrel racing;trophy"),
    ("Gist Silversmiths", "Engraved Oval Buckle", "buckles", "western", 349.00, {"finish": "sterling", "shape": "oval", "size_in": "3.5x2.5", "motif": "hand engraved"}, "handmade;premium"),
    ("Nocona", "Kids Bull Rider Buckle", "buckles", "youth", 24.99, {"finish": "silver", "shape": "oval", "size_in": "2.5x2", "motif": "bull rider"}, "kids"),
    # vests
    ("Outback Trading", "Deer Hunter Oilskin Vest", "vests", "oilskin", 109.00, {"material": "oilskin cotton", "lining": "none", "closure": "snap", "color": "bronze"}, "oilskin;waterproof"),
    ("Outback Trading", "Cattleman Leather Vest", "vests", "leather", 189.00, {"material": "cowhide", "lining": "satin", "closure": "button", "color": "brown"}, "leather"),
    ("Scully", "Lambskin Western Vest", "vests", "leather", 229.00, {"material": "lambskin", "lining": "rayon", "closure": "snap", "color": "chocolate"}, "lambskin;dress"),
    ("Scully", "Suede Fringe Vest", "vests", "womens", 175.00, {"material": "suede", "lining": "none", "closure": "open", "color": "tan"}, "fringe;women"),
    ("Wyoming Traders", "Texas Concealed Carry Vest", "vests", "wool", 149.00, {"material": "wool", "lining": "cotton", "closure": "snap", "color": "charcoal"}, "wool;carry"),
    ("Wyoming Traders", "Ranch Wool Vest", "vests", "wool", 139.00, {"material": "wool", "lining": "satin", "closure": "button", "color": "brown"}, "wool;ranch"),
    ("Powder River", "Canvas Ranch Vest", "vests", "canvas", 89.95, {"material": "canvas", "lining": "sherpa", "closure": "zip", "color": "tan"}, "canvas;warm"),
    ("Powder River", "Wool Melton Vest", "vests", "wool", 119.95, {"material": "wool melton", "lining": "quilted", "closure": "snap", "color": "navy"}, "wool"),
    ("Ariat", "Crius Insulated Vest", "vests", "insulated", 129.95, {"material": "nylon", "lining": "insulated", "closure": "zip", "color": "black"}, "insulated;warm"),
    ("Ariat", "Vernon 2.0 Softshell Vest", "vests", "softshell", 99.95, {"material": "softshell", "lining": "fleece", "closure": "zip", "color": "heather gray"}, "softshell"),
    ("Cinch", "Concealed Carry Puffer Vest", "vests", "insulated", 99.99, {"material": "polyester", "lining": "quilted", "closure": "zip", "color": "navy"}, "puffer;carry"),
    ("Wrangler", "Sherpa Lined Denim Vest", "vests", "denim", 59.99, {"material": "denim", "lining": "sherpa", "closure": "snap", "color": "indigo"}, "denim;sherpa"),
    ("Kimes Ranch", "Fleece Ranch Vest", "vests", "fleece", 89.00, {"material": "fleece", "lining": "none", "closure": "zip", "color": "olive"}, "fleece"),
    ("Roper", "Bonded Fleece Vest", "vests", "fleece", 54.99, {"material": "bonded fleece", "lining": "none", "closure": "zip", "color": "black"}, "fleece;value"),
    ("Scully", "Boar Suede Vest", "vests", "leather", 199.00, {"material": "boar suede", "lining": "rayon", "closure": "snap", "color": "cafe"}, "suede"),
    ("STS Ranchwear", "Brazos Wool Vest", "vests", "wool", 109.00, {"material": "wool blend", "lining": "satin", "closure": "snap", "color": "black"}, "wool"),
    # jeans
    ("Wrangler", "Cowboy Cut Original Fit 13MWZ", "jeans", "mens", 39.99, {"fit": "original", "rise": "high", "leg": "straight", "denim_oz": 14.75, "wash": "rigid indigo"}, "13MWZ;rodeo;classic"),
    ("Wrangler", "Cowboy Cut Slim Fit 936", "jeans", "mens", 39.99, {"fit": "slim", "rise": "mid", "leg": "straight", "denim_oz": 14.75, "wash": "prewashed"}, "936;slim"),
    ("Wrangler", "Retro Slim Bootcut", "jeans", "mens", 54.99, {"fit": "slim", "rise": "low", "leg": "bootcut", "denim_oz": 12, "wash": "falls city"}, "retro;bootcut"),
    ("Wrangler", "20X Competition Jean", "jeans", "mens", 59.99, {"fit": "relaxed", "rise": "mid", "leg": "bootcut", "denim_oz": 13, "wash": "dark stone"}, "20X;competition"),
    ("Wrangler", "Q-Baby Ultimate Riding Jean", "jeans", "womens", 64.99, {"fit": "mid-rise", "rise": "mid", "leg": "bootcut", "denim_oz": 11, "wash": "mae wash"}, "women;riding"),
    ("Cinch", "Ian Slim Bootcut", "jeans", "mens", 89.00, {"fit": "slim", "rise": "mid", "leg": "bootcut", "denim_oz": 13, "wash": "dark stonewash"}, "slim;bootcut"),
    ("Cinch", "White Label Relaxed", "jeans", "mens", 84.00, {"fit": "relaxed", "rise": "mid", "leg": "straight", "denim_oz": 13.5, "wash": "medium stonewash"}, "relaxed"),
    ("Cinch", "Grant Relaxed Bootcut", "jeans", "mens", 92.00, {"fit": "relaxed", "rise": "mid", "leg": "bootcut", "denim_oz": 13, "wash": "dark rinse"}, "bootcut"),
    ("Ariat", "M4 Low Rise Boundary", "jeans", "mens", 79.95, {"fit": "relaxed", "rise": "low", "leg": "bootcut", "denim_oz": 12.5, "wash": "gulch"}, "M4;bootcut"),
    ("Ariat", "REAL Perfect Rise Ella", "jeans", "womens", 79.95, {"fit": "curvy", "rise": "perfect", "leg": "bootcut", "denim_oz": 10.5, "wash": "medium"}, "women;stretch"),
    ("Kimes Ranch", "Dillon Jean", "jeans", "mens", 135.00, {"fit": "relaxed", "rise": "mid", "leg": "straight", "denim_oz": 14, "wash": "dark"}, "premium;ranch"),
    ("Rock & Roll Denim", "Double Barrel Relaxed", "jeans", "mens", 74.99, {"fit": "relaxed", "rise": "mid", "leg": "bootcut", "denim_oz": 12, "wash": "medium vintage"}, "embroidered;pockets"),
    ("Levi's", "517 Bootcut", "jeans", "mens", 69.50, {"fit": "regular", "rise": "mid", "leg": "bootcut", "denim_oz": 12.5, "wash": "rinse"}, "bootcut;classic"),
    ("Lee", "Extreme Motion Bootcut", "jeans", "mens", 54.00, {"fit": "regular", "rise": "mid", "leg": "bootcut", "denim_oz": 11.5, "wash": "medium"}, "stretch"),
    ("Wrangler", "Riggs Workwear Ranger Pant", "jeans", "work", 49.99, {"fit": "relaxed", "rise": "mid", "leg": "straight", "denim_oz": 10, "wash": "ripstop bark"}, "work;ripstop"),
    ("Cinch", "Lynden Womens Slim Trouser", "jeans", "womens", 89.00, {"fit": "slim", "rise": "mid", "leg": "trouser", "denim_oz": 10, "wash": "dark rinse"}, "women;trouser"),
    # jackets
    ("Wrangler", "Sherpa Lined Denim Jacket", "jackets", "denim", 74.99, {"material": "denim", "lining": "sherpa", "closure": "snap", "color": "indigo"}, "denim;sherpa;warm"),
    ("Wrangler", "Cowboy Cut Unlined Denim Jacket", "jackets", "denim", 59.99, {"material": "denim", "lining": "none", "closure": "button", "color": "rigid indigo"}, "denim;classic"),
    ("Carhartt", "Duck Detroit Jacket", "jackets", "canvas", 139.99, {"material": "firm duck canvas", "lining": "blanket", "closure": "zip", "color": "brown"}, "canvas;work"),
    ("Carhartt", "Sherpa Lined Chore Coat", "jackets", "canvas", 149.99, {"material": "duck canvas", "lining": "sherpa", "closure": "snap", "color": "carhartt brown"}, "chore coat;warm"),
    ("Schaefer Outfitter", "Vintage Brush Rancher", "jackets", "wool", 325.00, {"material": "brushed cotton", "lining": "wool", "closure": "button", "color": "chestnut"}, "rancher;premium"),
    ("Schaefer Outfitter", "Arena Jacket", "jackets", "canvas", 245.00, {"material": "canvas", "lining": "flannel", "closure": "snap", "color": "bark"}, "arena"),
    ("Outback Trading", "Low Rider Oilskin Duster", "jackets", "oilskin", 199.00, {"material": "oilskin cotton", "lining": "none", "closure": "snap", "color": "bronze", "length": "long"}, "duster;oilskin;waterproof"),
    ("Outback Trading", "Jackson Oilskin Jacket", "jackets", "oilskin", 169.00, {"material": "oilskin cotton", "lining": "quilted", "closure": "zip", "color": "brown"}, "oilskin"),
    ("Ariat", "Rebar DuraCanvas Jacket", "jackets", "canvas", 139.95, {"material": "DuraCanvas", "lining": "insulated", "closure": "zip", "color": "field khaki"}, "work;canvas"),
    ("Ariat", "Team Softshell Jacket", "jackets", "softshell", 119.95, {"material": "softshell", "lining": "fleece", "closure": "zip", "color": "black"}, "team;softshell"),
    ("Cinch", "Bonded Softshell Jacket", "jackets", "softshell", 109.99, {"material": "bonded softshell", "lining": "fleece", "closure": "zip", "color": "gray"}, "softshell"),
    ("Scully", "Whipstitch Lamb Jacket", "jackets", "leather", 499.00, {"material": "lambskin", "lining": "quilted", "closure": "button", "color": "brown"}, "leather;premium"),
    ("Scully", "Fringe Suede Jacket", "jackets", "leather", 449.00, {"material": "suede", "lining": "rayon", "closure": "snap", "color": "bourbon"}, "fringe;suede"),
    ("Powder River", "Wool Blanket Coat", "jackets", "wool", 229.95, {"material": "wool blend", "lining": "quilted", "closure": "snap", "color": "aztec red"}, "wool;aztec"),
    ("Kimes Ranch", "Coaches Jacket", "jackets", "casual", 115.00, {"material": "nylon", "lining": "mesh", "closure": "snap", "color": "black"}, "casual"),
    ("Roper", "Tech Softshell Jacket", "jackets", "softshell", 79.99, {"material": "softshell", "lining": "fleece", "closure": "zip", "color": "navy"}, "value;softshell"),
    ("STS Ranchwear", "Brazos Canvas Jacket", "jackets", "canvas", 149.00, {"material": "canvas", "lining": "sherpa", "closure": "zip", "color": "brown"}, "canvas;sherpa"),
    ("Cripple Creek", "Lamb Leather Blazer", "jackets", "leather", 399.00, {"material": "lambskin", "lining": "satin", "closure": "button", "color": "black"}, "blazer;dress"),
]

# Variants multiply the lines into a catalog of several hundred real-looking SKUs:
# sizes are left to attributes; what changes the look (and so the picture) is colour.
EXTRA_COLOURS = {
    "boots": ["black", "chocolate", "tan", "bone", "red"],
    "hats": ["black", "silverbelly", "chocolate", "sand"],
    "saddles": ["walnut", "chestnut", "light oil"],
    "belts": ["black", "brown", "tan"],
    "buckles": ["silver", "gold-tone", "antiqued"],
    "vests": ["black", "brown", "navy"],
    "jeans": ["dark rinse", "medium stone", "black"],
    "jackets": ["brown", "black", "tan"],
}

STORES = [
    ("Boot Barn", "https://www.bootbarn.com"),
    ("Sheplers", "https://www.sheplers.com"),
    ("Cavender's", "https://www.cavenders.com"),
    ("Murdoch's", "https://www.murdochs.com"),
    ("Drysdales", "https://www.drysdales.com"),
    ("Fort Western", "https://www.fortwestern.com"),
    ("Amazon", "https://www.amazon.com"),
]

NOUN = {"boots": "boot", "hats": "hat", "saddles": "saddle", "belts": "belt", "buckles": "buckle",
        "vests": "vest", "jeans": "jean", "jackets": "jacket"}


def describe(brand, model, cat, sub, attrs, rng):
    """One or two sentences built from the attributes, phrased per category."""
    a = attrs
    if cat == "boots":
        s = "%s %s %s in %s %s with a %s toe and %s heel on a %s-inch shaft." % (
            brand, model, "boot", a["color"], a["material"], a["toe"], a["heel"], a["shaft_in"])
        tail = {"work": "Built for long days on concrete and in the barn.",
                "exotic": "A dress boot for weddings, sales and the stock show.",
                "roper": "Low heel and short shaft for walking as much as riding.",
                "youth": "Sized for young riders and easy to pull on.",
                "womens": "Cut on a women's last."}.get(sub, "A dependable everyday western boot.")
    elif cat == "hats":
        s = "%s hat in %s %s, %s crown and %s-inch brim." % (model, a["color"], a["material"], a["crown"], a["brim_in"])
        tail = "Keeps the sun off in the arena." if sub == "straw" else "Holds its shape through weather and years of wear."
    elif cat == "saddles":
        s = "%s-inch %s saddle on a %s tree, %s leather, %s rigging, about %s lb." % (
            a["seat_in"], sub, a["tree"], a["leather"], a["rigging"], a["weight_lb"])
        tail = {"barrel": "Deep seat and close contact for tight turns.",
                "roping": "Stout horn and double rigging for dallying and dragging.",
                "cutting": "Flat seat and low horn for working cattle.",
                "trail": "Padded seat for long hours outside.",
                "ranch": "Made for a working ranch day, every day."}.get(sub, "A comfortable general-purpose saddle.")
    elif cat == "belts":
        s = "%s-inch %s belt with %s detail in %s." % (a["width_in"], a["material"], a["tooling"], a["color"])
        tail = "Takes a standard western buckle." if sub != "womens" else "Finished with a matching buckle."
    elif cat == "buckles":
        s = "%s %s buckle, %s inches, %s motif." % (a["finish"].capitalize(), a["shape"], a["size_in"], a["motif"])
        tail = "Fits belts up to 1.5 inches wide."
    elif cat == "vests":
        s = "%s vest in %s %s with %s lining and %s closure." % (sub.capitalize(), a["color"], a["material"], a["lining"], a["closure"])
        tail = "Layers over a snap shirt for cool mornings."
    elif cat == "jeans":
        s = "%s-fit %s jean, %s rise, %s-oz denim in %s." % (a["fit"].capitalize(), a["leg"], a["rise"], a["denim_oz"], a["wash"])
        tail = "Long inseams stack over boots." if a["leg"] != "trouser" else "Dressier cut for town."
    else:
        s = "%s %s jacket with %s lining and %s closure, in %s." % (a["material"].capitalize(), sub, a["lining"], a["closure"], a["color"])
        tail = "Cut with room to move in the saddle."
    return s + " " + tail


def upc_for(n):
    """UPC-A with the internal-use '2' prefix and a valid check digit."""
    digits = "2%010d" % n
    odd = sum(int(d) for d in digits[0::2])
    even = sum(int(d) for d in digits[1::2])
    check = (10 - (odd * 3 + even) % 10) % 10
    return digits + str(check)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    rng = random.Random(2026)
    products, prices = [], []
    n = 0
    for brand, model, cat, sub, msrp, attrs, kw in LINES:
        colours = [attrs.get("color") or attrs.get("leather") or attrs.get("finish") or attrs.get("wash")]
        # about half of the lines come in a second colourway
        if rng.random() < 0.55:
            extra = [c for c in EXTRA_COLOURS[cat] if c not in colours]
            colours.append(rng.choice(extra))
        for ci, colour in enumerate(colours):
            n += 1
            a = dict(attrs)
            for k in ("color", "leather", "finish", "wash"):
                if k in a:
                    a[k] = colour
                    break
            code = "".join(w[0] for w in brand.split() if w[0].isalnum())[:3].upper()
            sku = "RD-%s-%s-%04d" % (code, cat[:2].upper(), n)
            name = model if ci == 0 else "%s (%s)" % (model, colour)
            desc = describe(brand, model, cat, sub, a, rng)
            words = [w for w in kw.split(";") if w] + [cat, sub, colour, brand.lower()]
            price = round(msrp * (1.0 if ci == 0 else rng.choice([1.0, 1.0, 1.05])), 2)
            products.append({
                "sku": sku, "upc": upc_for(n), "brand": brand, "model": name, "category": cat,
                "subcategory": sub, "description": desc, "msrp": "%.2f" % price,
                "image": "images/%s.jpg" % sku, "keywords": ";".join(dict.fromkeys(words)),
                "attributes": json.dumps(a, sort_keys=True),
            })
            for store, url in rng.sample(STORES, rng.randint(2, 4)):
                sale = rng.random() < 0.3
                orig = price
                p = round(price * (rng.uniform(0.7, 0.9) if sale else rng.uniform(0.95, 1.03)), 2)
                ship = "Free shipping over $50" if p >= 50 else "$7.95 flat"
                if store == "Amazon":
                    ship = "Free with Prime"
                prices.append({
                    "sku": sku, "store_name": store, "store_url": url,
                    "product_url": "%s/search?q=%s" % (url, sku),
                    "price": "%.2f" % p, "original_price": "%.2f" % orig if sale else "",
                    "is_on_sale": "true" if sale else "false",
                    "sale_end_date": "2026-12-%02d" % rng.randint(5, 31) if sale else "",
                    "in_stock": "true" if rng.random() < 0.9 else "false",
                    "stock_level": rng.choice(["in stock", "low stock", "in stock", "ships in 1-2 weeks"]),
                    "shipping_info": ship,
                })
    with open(os.path.join(out, "products.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(products[0].keys()), lineterminator="\n")
        w.writeheader()
        w.writerows(products)
    with open(os.path.join(out, "prices.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(prices[0].keys()), lineterminator="\n")
        w.writeheader()
        w.writerows(prices)
    print("%d products, %d prices" % (len(products), len(prices)))


if __name__ == "__main__":
    main()
