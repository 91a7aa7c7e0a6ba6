"""Channel-layer group names, built in one place."""


def exam_group(exam_id: int) -> str:
    return f"exam-{exam_id}"
