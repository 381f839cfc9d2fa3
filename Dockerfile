FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 COACH_DATA_DIR=/app/.data \
    DJANGO_SETTINGS_MODULE=marketplace.settings.production
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir . \
    && DJANGO_SECRET_KEY=build-only STRIPE_SANDBOX=true DATABASE_URL=postgres://x@localhost/x \
       REDIS_URL=redis://localhost:6379/0 python manage.py collectstatic --no-input
RUN useradd --create-home coach && mkdir -p /app/.data && chown -R coach /app/.data
USER coach
EXPOSE 8000
# One uvicorn worker per core (WEB_CONCURRENCY), after the database connection budget check.
ENV HOST=0.0.0.0 PORT=8000
CMD ["python", "-m", "marketplace.serve"]
