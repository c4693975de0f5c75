"""The HTTP floor of benchmarks/serving.py: a constant answer on the same FastAPI/uvicorn stack."""

from typing import Any

from fastapi import FastAPI, Request

app = FastAPI()
ANSWER = {"model": "credit", "version": "1", "request_id": "-", "predictions": [{"id": "-", "score": 0.5}]}


@app.post("/predict")
async def predict(request: Request) -> dict[str, Any]:
    await request.body()
    return ANSWER
