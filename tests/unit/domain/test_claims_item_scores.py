"""Line-item scoring: true lines matched to extracted ones whatever their order; a missing line
lowers recall, an extra one precision, and the attribute rows say which part was wrong."""

from itertools import permutations

from usine.domain.claims_item_scores import ItemScores

BRAKES = {
    "description": "Plaquettes de frein avant",
    "quantity": "2",
    "unit_price": "45.00",
    "amount": "90.00",
}
OIL = {"description": "Vidange moteur", "quantity": "1", "unit_price": "62.50", "amount": "62.50"}
LABOUR = {"description": "Main d'oeuvre", "quantity": "3", "unit_price": "55.00", "amount": "165.00"}


def scored(predicted: list[dict[str, str | None]], truth: list[dict[str, str | None]]) -> ItemScores:
    scores = ItemScores()
    scores.add(predicted, truth)
    return scores


def test_every_line_found_in_another_order_is_perfect() -> None:
    scores = scored([LABOUR, BRAKES, OIL], [BRAKES, OIL, LABOUR])
    assert {name: (c.tp, c.fp, c.fn) for name, c in scores.rows.items()} == dict.fromkeys(
        scores.rows, (3, 0, 0)
    )
    assert scores.items.f1 == 1.0


def test_a_missing_line_lowers_recall_and_not_precision() -> None:
    items = scored([BRAKES, OIL], [BRAKES, OIL, LABOUR]).items
    assert (items.precision, items.recall) == (1.0, 2 / 3)


def test_an_extra_line_lowers_precision_and_not_recall() -> None:
    extra = {"description": "Total HT", "quantity": None, "unit_price": None, "amount": "317.50"}
    scores = scored([BRAKES, extra, OIL], [BRAKES, OIL])
    assert (scores.items.precision, scores.items.recall) == (2 / 3, 1.0)
    assert (scores.rows["line_items.quantity"].fp, scores.rows["line_items.quantity"].fn) == (0, 0)


def test_descriptions_compare_without_case_accents_or_spaces_and_amounts_as_numbers() -> None:
    read = {
        "description": "PLAQUETTES  DE FREIN AVANT",
        "quantity": "2.0",
        "unit_price": "45",
        "amount": "90",
    }
    assert scored([read], [BRAKES]).items.f1 == 1.0
    accented = {**OIL, "description": "Réparation rétroviseur"}
    assert scored([{**accented, "description": "reparation retroviseur"}], [accented]).items.f1 == 1.0


def test_a_line_with_a_wrong_amount_is_wrong_and_its_attribute_rows_say_which_part() -> None:
    misread = {**BRAKES, "amount": "98.00"}
    scores = scored([misread, OIL], [BRAKES, OIL])
    assert (scores.items.tp, scores.items.fp, scores.items.fn) == (1, 1, 1)
    assert (scores.rows["line_items.description"].tp, scores.rows["line_items.description"].fp) == (2, 0)
    amount = scores.rows["line_items.amount"]
    assert (amount.tp, amount.fp, amount.fn) == (1, 1, 1)


def test_a_fact_the_document_does_not_print_is_not_expected() -> None:
    ticket = {**BRAKES, "unit_price": None}
    assert scored([{**BRAKES, "unit_price": None}], [ticket]).rows["line_items.unit_price"].fn == 0
    guessed = scored([BRAKES], [ticket]).rows["line_items.unit_price"]
    assert (guessed.tp, guessed.fp, guessed.fn) == (0, 1, 0)


def test_the_counts_do_not_depend_on_the_order_of_either_list() -> None:
    half_right = {**LABOUR, "amount": "160.00"}
    duplicate = dict(OIL)
    predicted = [half_right, OIL, duplicate, {**BRAKES, "quantity": "1"}]
    truth = [BRAKES, OIL, LABOUR, OIL]
    expected = {name: (c.tp, c.fp, c.fn) for name, c in scored(predicted, truth).rows.items()}
    assert expected["line_items"] == (3, 1, 1)
    for shuffled_predicted in permutations(predicted):
        for shuffled_truth in (truth, truth[::-1], truth[1:] + truth[:1]):
            scores = scored(list(shuffled_predicted), shuffled_truth)
            assert {name: (c.tp, c.fp, c.fn) for name, c in scores.rows.items()} == expected


def test_nothing_extracted_from_a_document_without_lines_is_not_counted() -> None:
    scores = scored([], [])
    assert all((c.tp, c.fp, c.fn) == (0, 0, 0) for c in scores.rows.values())
    assert scored([], [BRAKES]).items.recall == 0.0
